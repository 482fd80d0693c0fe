/**
 * POST /v1/deploy: a redeploy to a lone host in one exchange, staged and activated, instead of a
 * status, a stage and an activation (three round trips and about 2.5 KB of HTTP on an unchanged
 * redeploy, against the 0.4 KB rsync -z spends on one file). The release comes as a delta
 * against a release this agent keeps (requests.ts `deployBody`); without sources (the deployer
 * sends none when nothing changed) only a release made from what the agent has is staged.
 *
 * Anything refused before a change is an HTTP error (a 409 for a base not kept here or chunks
 * needed without sources, a 400 for a bad body or another protocol, 401, the lock's 409), and
 * the deployer then deploys as before, which says the same of real trouble. A lone host's
 * deployer sends no lock and unlock around it: the exchange takes the lock itself (HOLD_HEADER,
 * as POST /v1/lock would, refused alike while another deployment holds it), gives it back with a
 * refusal, and, asked `once` (nothing follows on this host: no health gate), when it is done.
 * Once staging starts
 * the answer is 200 and lines (DeployLine): progress only after 100 ms, then the outcome. The
 * answer is sent without a date or a content type, and in one piece with its length when no
 * progress came first: a quarter of what an unchanged redeploy sends goes in HTTP headers (the
 * body leaves out the version a release id begins with, the answer a previous release that was
 * the base).
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
import { HOLD_HEADER } from './deploy-lock.js';
import type { DeployLine, StagedCounts, StageResult } from './operations.js';
import { appOf, deployBody, holdHeader, parseBody } from './requests.js';

/** What a HOLD_HEADER asks: the lock taken for `ttlMs` by `owner`, given back when done if `once`. */
export type HoldRequest = { ttlMs: number; once: boolean; owner: string };

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
 * The handler of POST /v1/deploy for `agent`; `mayChange` checks the caller's lock (server.ts),
 * or takes it as `take` asks (HOLD_HEADER), and returns its holder.
 */
export function deployExchange(
  agent: Agent,
  jsonBytes: number,
  mayChange: (req: IncomingMessage, take?: HoldRequest) => string | undefined,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    trace('deploy request');
    const body = parseBody(deployBody, await readJson(req, jsonBytes), 'deploy');
    if (body.protocol !== DEPLOY_PROTOCOL)
      throw new HttpError(
        400,
        `the deployer speaks deploy protocol ${body.protocol}, this agent ${DEPLOY_PROTOCOL}: run the same Slipway version on both (upgrade the ${body.protocol > DEPLOY_PROTOCOL ? 'agent' : 'deployer'})`,
      );
    const take = holdOf(req);
    const heldBy = agent.lock.current?.holder;
    const holder = mayChange(req, take);
    // Refused before anything changed: a lock this request took goes back with the refusal, so
    // that the deployer, which then deploys as before, takes it the ordinary way.
    const tookNow = take !== undefined && holder !== undefined && heldBy !== holder;
    let request: Parameters<Agent['stage']>[0];
    let local: Awaited<ReturnType<Agent['stageLocal']>>;
    try {
      // The releases as the last activation's pruning leaves them, as a status shows them to the
      // stage request it precedes: a twin or a file's base must not be a release being removed.
      await agent.pruned();
      const base = agent.manifestOf(body.base);
      if (!base) throw new HttpError(409, `${NO_BASE}: release ${body.base} is not kept here`);
      const rebuilt = applyManifestDelta(base, {
        version: body.version ?? versionOf(body.release),
        chunking: body.chunking ?? base.chunking,
        remove: body.remove ?? [],
        upsert: body.upsert ?? [],
      });
      if (!rebuilt.ok) throw new HttpError(400, `manifest delta refused: ${rebuilt.error}`);
      const checked = validateManifest(rebuilt.value);
      if (!checked.ok) throw new HttpError(400, `manifest refused: ${checked.error}`);
      trace('deploy manifest checked');
      request = {
        release: body.release,
        manifest: checked.value,
        sources: body.sources,
        bases: body.bases as Record<ChunkId, ChunkId[]> | undefined,
        holder,
        activateNext: true,
      };
      if (!body.sources) {
        local = await agent.stageLocal(request);
        if (!local)
          throw new HttpError(409, `${NEEDS_SOURCES}: release ${body.release} needs chunks this agent lacks`);
      }
    } catch (e) {
      if (tookNow) agent.lock.release(holder);
      throw e;
    }
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
    if (local) staged = local;
    else {
      const quietUntil = Date.now() + QUIET_MS;
      let last = 0;
      staged = await agent.stage(request, (p) => {
        const now = Date.now();
        if (now < quietUntil || now - last < 100) return;
        last = now;
        send({ type: 'progress', ...p }, false);
      });
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
    // Done, and nothing more for this deployer to do here: the lock goes back with the answer.
    if (take?.once && holder) agent.lock.release(holder);
    // What ran before, unless it was the base (as it is after a deploy by this deployer).
    const previous = activated.value.previous;
    send({ type: 'done', ...(previous === body.base ? {} : { previous }), ...counts }, true);
  };
}

/** The HOLD_HEADER of a request, checked; undefined when it has none. */
function holdOf(req: IncomingMessage): HoldRequest | undefined {
  const h = req.headers[HOLD_HEADER];
  if (h === undefined) return undefined;
  const parsed = holdHeader.safeParse(h);
  if (!parsed.success)
    throw new HttpError(400, `bad ${HOLD_HEADER} header: want <ttl ms> <once|keep> <owner>`);
  return parsed.data;
}

/** The version a release id was made from (manifest.ts releaseIdOf: `<version>-<12 hex>`). */
function versionOf(release: string): string {
  return release.slice(0, -13);
}
