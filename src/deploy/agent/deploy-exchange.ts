/**
 * POST /v1/deploy: a redeploy to a lone host in one exchange, staged and activated, instead of a
 * status, a stage and an activation (three round trips and about 2.5 KB of HTTP on an unchanged
 * redeploy, against the 0.4 KB rsync -z spends on one file). The release comes as a delta
 * against a release this agent keeps (requests.ts `deployBody`); without sources (the deployer
 * sends none when nothing changed) only a release made from what the agent has is staged.
 *
 * Anything refused before a change is an HTTP error (a 409 for a base not kept here or chunks
 * needed without sources, a 400 for a bad body or another protocol, 401, the lock's 409), and
 * the deployer then deploys as before, which says the same of real trouble. Once staging starts
 * the answer is 200 and lines (DeployLine): progress only after 100 ms, then the outcome. The
 * answer is sent without a date or a content type, and in one piece with its length when no
 * progress came first: a quarter of what an unchanged redeploy sends goes in HTTP headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { err } from '../../util/result.js';
import { trace } from '../../util/trace.js';
import { HttpError, readJson } from '../http.js';
import { validateManifest } from '../manifest.js';
import { applyManifestDelta } from '../manifest-delta.js';
import { DEPLOY_PROTOCOL, NEEDS_SOURCES, NO_BASE } from '../protocol.js';
import type { ChunkId } from '../types.js';
import type { Agent } from './agent.js';
import type { DeployLine, StagedCounts, StageResult } from './operations.js';
import { appOf, deployBody, parseBody } from './requests.js';

/** How long a staging runs before its answer streams progress (the deployer's live view). */
const QUIET_MS = 100;

/** The staging's outcome as the answer counts it. */
function countsOf(r: StageResult): StagedCounts {
  return {
    ...(r.chunksFetched ? { fetched: r.chunksFetched } : {}),
    ...(r.bytesFetched ? { bytes: r.bytesFetched } : {}),
    ...(r.alreadyStaged ? { already: true as const } : {}),
  };
}

/**
 * The handler of POST /v1/deploy for `agent`; `mayChange` checks the caller's lock (server.ts)
 * and returns its holder.
 */
export function deployExchange(
  agent: Agent,
  jsonBytes: number,
  mayChange: (req: IncomingMessage) => string | undefined,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    trace('deploy request');
    const body = parseBody(deployBody, await readJson(req, jsonBytes), 'deploy');
    if (body.protocol !== DEPLOY_PROTOCOL)
      throw new HttpError(
        400,
        `the deployer speaks deploy protocol ${body.protocol}, this agent ${DEPLOY_PROTOCOL}: run the same Slipway version on both (upgrade the ${body.protocol > DEPLOY_PROTOCOL ? 'agent' : 'deployer'})`,
      );
    const holder = mayChange(req);
    // The releases as the last activation's pruning leaves them, as a status shows them to the
    // stage request it precedes: a twin or a file's base must not be a release being removed.
    await agent.pruned();
    const base = agent.manifestOf(body.base);
    if (!base) throw new HttpError(409, `${NO_BASE}: release ${body.base} is not kept here`);
    const rebuilt = applyManifestDelta(base, {
      version: body.version,
      chunking: body.chunking ?? base.chunking,
      remove: body.remove ?? [],
      upsert: body.upsert ?? [],
    });
    if (!rebuilt.ok) throw new HttpError(400, `manifest delta refused: ${rebuilt.error}`);
    const checked = validateManifest(rebuilt.value);
    if (!checked.ok) throw new HttpError(400, `manifest refused: ${checked.error}`);
    const request = {
      release: body.release,
      manifest: checked.value,
      sources: body.sources,
      bases: body.bases as Record<ChunkId, ChunkId[]> | undefined,
      holder,
      activateNext: true,
    };
    res.sendDate = false;
    let streaming = false;
    const send = (line: DeployLine, last: boolean) => {
      const text = `${JSON.stringify(line)}\n`;
      if (!streaming && last) {
        res.writeHead(200, { 'content-length': Buffer.byteLength(text) }).end(text);
        return;
      }
      if (!streaming) res.writeHead(200);
      streaming = true;
      if (last) res.end(text);
      else res.write(text);
    };
    let staged: Awaited<ReturnType<Agent['stage']>>;
    if (body.sources) {
      const quietUntil = Date.now() + QUIET_MS;
      let last = 0;
      staged = await agent.stage(request, (p) => {
        const now = Date.now();
        if (now < quietUntil || now - last < 100) return;
        last = now;
        send({ type: 'progress', ...p }, false);
      });
    } else {
      const local = await agent.stageLocal(request);
      if (!local)
        throw new HttpError(409, `${NEEDS_SOURCES}: release ${body.release} needs chunks this agent lacks`);
      staged = local;
    }
    trace('deploy staged');
    if (!staged.ok) return send({ type: 'error', message: staged.error }, true);
    const counts = countsOf(staged.value);
    // What runs now, for the deployer to roll back to should the activation fail half-way.
    const before = await agent.current();
    const activated = await agent
      .activate({
        release: staged.value.release,
        app: appOf(body.app),
        keep: body.keep,
        ...(body.validate ? { validate: body.validate } : {}),
      })
      .catch((e: unknown) => err(`activating ${staged.value.release} failed: ${(e as Error).message}`));
    trace('deploy activated');
    if (!activated.ok)
      return send({ type: 'error', message: activated.error, staged: { ...counts, previous: before } }, true);
    send({ type: 'done', previous: activated.value.previous, ...counts }, true);
  };
}
