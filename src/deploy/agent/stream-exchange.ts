/**
 * POST /v1/stage-stream: the HTTP side of a streamed stage (stream-stage.ts). The body is NDJSON,
 * gzipped, or in zstd frames where this agent said it decodes them (deploy/stream-feed.ts; decoded
 * here on the main thread, synchronously, as each piece comes): a header, one line per manifest entry (a large file's chunk
 * list perhaps first in part lines, manifest-lines.ts ManifestLines part), the release id last.
 * A bad header is an HTTP error (400; a deployer before this endpoint is never sent one, and one
 * after it that gets a 404 from an older agent stages as before). Once the header is accepted
 * the answer is 200 and lines, as POST /v1/stage's: progress at most every 100 ms, then `done`
 * with the staging's counts or `error` with what was wrong (the line, and why). After an error
 * the rest of the body is read and dropped, so the deployer reads the answer before it stops.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { trace } from '../../util/trace.js';
import { HttpError } from '../http.js';
import { ManifestLines } from '../manifest-lines.js';
import { DEPLOY_PROTOCOL } from '../protocol.js';
import type { ReleaseId } from '../types.js';
import { loadZstd, type ZstdDecoder } from '../zstd.js';
import type { Agent } from './agent.js';
import type { StageProgress } from './operations.js';
import { ENTRY_NOT_OBJECT, isEntryObject, streamHeader, streamPart, streamTrailer } from './stream-lines.js';
import { StreamStaging } from './stream-stage.js';

/** How often the answer reports progress. */
const PROGRESS_MS = 100;

/** A zod/mini issue as the error line says it. */
function issueText(e: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = e.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
  return `${issue?.message ?? 'invalid'}${where}`;
}

/** The handler of POST /v1/stage-stream; `mayChange` checks the caller's lock (server.ts). */
export function streamExchange(
  agent: Agent,
  jsonBytes: number,
  mayChange: (req: IncomingMessage) => string | undefined,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    trace('stage-stream request');
    const holder = mayChange(req);
    const encoding = req.headers['content-encoding'];
    const zstd = encoding === 'zstd' ? loadZstd() : undefined;
    if (encoding !== undefined && encoding !== 'gzip' && encoding !== 'identity' && !zstd)
      throw new HttpError(415, `unsupported content-encoding ${encoding}`);
    const body = encoding === 'gzip' ? pipeline(req, createGunzip(), () => {}) : req;
    const unzstd: ZstdDecoder | undefined = zstd?.decoder();
    const decoder = new StringDecoder('utf8');
    let staging: StreamStaging | undefined;
    let lines: ManifestLines | undefined;
    let trailer: { release: ReleaseId; entries: number } | undefined;
    let failed: string | undefined;
    let pending = '';
    let total = 0;
    let n = 0;
    let last = 0;
    let pumping = false;
    const progress = (p: StageProgress) => {
      const now = Date.now();
      if (now - last < PROGRESS_MS || res.writableEnded) return;
      last = now;
      res.write(`${JSON.stringify({ type: 'progress', ...p })}\n`);
    };

    /** Refuses the stream: before the answer began an HTTP error, after it an error line. */
    const fail = async (message: string) => {
      if (failed !== undefined) return;
      failed = message;
      trace(`stage-stream refused: ${message}`);
      await staging?.abort(message);
      if (!res.headersSent) throw new HttpError(400, message);
      res.end(`${JSON.stringify({ type: 'error', message })}\n`);
    };

    /** The header line: the staging begins (its folder made), the answer too. */
    const begin = async (value: unknown) => {
      const h = streamHeader.safeParse(value);
      if (!h.success) return fail(`bad stage stream header: ${issueText(h.error)}`);
      if (h.data.protocol > DEPLOY_PROTOCOL)
        return fail(
          `the deployer speaks deploy protocol ${h.data.protocol}, this agent ${DEPLOY_PROTOCOL}: run the same Slipway version on both (upgrade the agent)`,
        );
      const started = ManifestLines.start(h.data.version, h.data.chunking);
      if (!started.ok) return fail(`manifest refused: ${started.error}`);
      const opened = await StreamStaging.open(agent.layout, {
        index: agent.index,
        lines: started.value,
        sources: h.data.sources,
        onProgress: progress,
        bytes: h.data.bytes,
      });
      lines = started.value;
      staging = opened;
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      trace('stage-stream header');
    };

    /**
     * One line of the body; the first is the header. An entry line is taken synchronously (a
     * promise, and a resumption of this handler, per line was ~20,000 of each on a first deploy);
     * a promise only for the header and a refusal.
     */
    const take = (line: string): Promise<void> | undefined => {
      n++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return fail(`stage stream line ${n}: not valid JSON`);
      }
      if (!staging || !lines) return begin(value);
      if (trailer) return fail(`stage stream line ${n}: a line after the last`);
      if (value !== null && typeof value === 'object' && 'release' in value) {
        const t = streamTrailer.safeParse(value);
        if (!t.success) return fail(`stage stream line ${n}: ${issueText(t.error)}`);
        const parted = lines.parted;
        if (parted)
          return fail(
            `stage stream line ${n}: ${JSON.stringify(parted.path)} came in parts, but not its entry`,
          );
        trailer = t.data as { release: ReleaseId; entries: number };
        return;
      }
      if (value !== null && typeof value === 'object' && 'part' in value) {
        const p = streamPart.safeParse(value);
        if (!p.success) return fail(`stage stream line ${n}: ${issueText(p.error)}`);
        const part = lines.part({ path: p.data.part, ...p.data });
        if (!part.ok) return fail(`stage stream line ${n}: part refused: ${part.error}`);
        try {
          staging.part(part.value);
        } catch (x) {
          return fail(`staging ${part.value.path} failed: ${(x as Error).message}`);
        }
        if (staging.failure) return fail(`staging failed: ${staging.failure}`);
        return;
      }
      if (!isEntryObject(value)) return fail(`stage stream line ${n}: ${ENTRY_NOT_OBJECT}`);
      const added = lines.add(value);
      if (!added.ok) return fail(`stage stream line ${n}: manifest refused: ${added.error}`);
      try {
        staging.add(added.value);
      } catch (x) {
        return fail(`staging ${added.value.path} failed: ${(x as Error).message}`);
      }
      if (staging.failure) return fail(`staging failed: ${staging.failure}`);
      return undefined;
    };

    /** The text of a zstd piece, decoded up to the limit (past it, the stream is refused). */
    const unzstdText = (piece: Buffer): string => {
      let text = '';
      unzstd!.write(piece, (out) => {
        total += out.length;
        if (total > jsonBytes) return false;
        text += decoder.write(out);
        return true;
      });
      return text;
    };

    try {
      for await (const piece of body as AsyncIterable<Buffer>) {
        if (failed !== undefined) {
          // Read and dropped, so the deployer reads the answer; up to the limit, not forever.
          total += piece.length;
          if (total > jsonBytes) break;
          continue;
        }
        const text = unzstd ? unzstdText(piece) : undefined;
        if (!unzstd) total += piece.length;
        if (total > jsonBytes) {
          await fail(`the stage stream exceeds ${jsonBytes} bytes`);
          continue;
        }
        pending += text ?? decoder.write(piece);
        let from = 0;
        for (
          let nl = pending.indexOf('\n');
          nl >= 0 && failed === undefined;
          nl = pending.indexOf('\n', from)
        ) {
          const taking = take(pending.slice(from, nl));
          if (taking) await taking;
          from = nl + 1;
        }
        pending = pending.slice(from);
        // At a pause of the input, whatever is queued goes out (stream-stage.ts pump).
        if (staging && !pumping) {
          pumping = true;
          setImmediate(() => {
            pumping = false;
            staging?.pump(true);
          });
        }
      }
    } catch (x) {
      if (x instanceof HttpError) throw x; // refused before the answer began
      // The deployer went away (or sent a broken gzip stream): nothing of it is kept.
      if (failed === undefined) await fail(`the stage stream broke off: ${(x as Error).message}`);
      return;
    }
    if (failed !== undefined) return;
    if (unzstd && !unzstd.whole) return fail('the stage stream broke off inside a zstd frame');
    if (pending.trim()) await take(pending);
    if (failed !== undefined) return;
    if (!staging || !trailer) return fail('the stage stream ended before its last line (the release id)');
    trace('stage-stream trailer');
    const streamed = await staging.finish(trailer.release, trailer.entries);
    if (!streamed.ok) return fail(streamed.error);
    trace(`stage-stream ${streamed.value.id}: fetched`);
    const r = await agent.stageStreamed(streamed.value, holder);
    res.end(
      `${JSON.stringify(r.ok ? { type: 'done', result: r.value } : { type: 'error', message: r.error })}\n`,
    );
  };
}
