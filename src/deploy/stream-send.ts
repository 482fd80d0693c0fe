/**
 * One host's streamed stage over HTTP (POST /v1/stage-stream; stage-stream.ts runs a deployment's):
 * the request, its header first, then the feed (stream-feed.ts) as it grows, and the agent's answer.
 */
import http from 'node:http';
import { err, ok, type Result } from '../util/result.js';
import type { StageProgress, StageResult } from './agent/operations.js';
import { causeOf } from './chunk-client.js';
import { isOk, refusalText } from './http-call.js';
import { readStageAnswer } from './stage-answer.js';
import { encodeLine, type FeedSink, type StreamFeed, type StreamHeader } from './stream-feed.js';

/**
 * How a streamed stage went: refused by an agent before it (404, or the connection broken before
 * any answer, as such a 404 may arrive), or staged (or failed) there.
 */
export type StreamOutcome =
  | { kind: 'unsupported'; message: string }
  | { kind: 'staged'; result: Result<StageResult & { requestBytes: number }, string> };

/** Sends one host's streamed stage: its header, then the feed as it grows; reads its answer. */
export function sendStream(o: {
  url: URL;
  headers: Record<string, string>;
  header: StreamHeader;
  feed: StreamFeed;
  onProgress?: (p: StageProgress) => void;
  /** Hears that the request's connection is made (its header then leaves at once). */
  onConnected?: () => void;
}): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const req = http.request(o.url, {
      agent: false,
      method: 'POST',
      headers: { ...o.headers, 'content-encoding': o.feed.codec, 'content-type': 'application/x-ndjson' },
    });
    const connected = o.onConnected;
    if (connected)
      req.once('socket', (socket) => {
        if (socket.connecting) socket.once('connect', connected);
        else connected();
      });
    let bytes = 0;
    let detach: (() => void) | undefined;
    let settled = false;
    const settle = (out: StreamOutcome) => {
      if (settled) return;
      settled = true;
      detach?.();
      // The answer is in: whatever was not sent yet is not needed (a refusal mid-stream).
      if (!req.writableFinished) req.destroy();
      resolve(out);
    };
    const failed = (message: string) => settle({ kind: 'staged', result: err(message) });
    const write = (b: Buffer) => {
      if (settled || req.destroyed) return;
      bytes += b.length;
      req.write(b);
    };
    let answered = false;
    req.on('error', (e) => {
      // An agent before this endpoint answers 404 without reading the request, then closes the
      // connection: a write still streaming then fails with EPIPE or ECONNRESET, and the 404
      // behind it is lost. Broken before any answer, the host is staged as before, which also
      // tells a lost agent (its stage cannot reach it either) from an older one.
      const code = (e as NodeJS.ErrnoException).code;
      if (!answered && (code === 'EPIPE' || code === 'ECONNRESET'))
        return settle({
          kind: 'unsupported',
          message: `${o.url.origin} closed the streamed stage unanswered (${code})`,
        });
      failed(`cannot reach agent ${o.url.origin}: ${causeOf(e)}`);
    });
    req.on('response', async (res) => {
      answered = true;
      if (res.statusCode === 404) {
        res.resume();
        return settle({ kind: 'unsupported', message: `${o.url.origin} has no streamed stage` });
      }
      if (!isOk(res)) {
        return failed(`${o.url.origin} answered ${res.statusCode}: ${await refusalText(res)}`);
      }
      const answer = await readStageAnswer(res, o.url.origin, o.onProgress);
      // Counted once answered: the request streams on while the agent's progress lines come.
      settle({ kind: 'staged', result: answer.ok ? ok({ ...answer.value, requestBytes: bytes }) : answer });
    });
    write(encodeLine(o.header, o.feed.codec));
    const sink: FeedSink = {
      part: write,
      end: (trailer) => {
        if (settled || req.destroyed) return;
        bytes += trailer.length;
        req.end(trailer);
      },
      fail: (reason) => failed(`stopped streaming the manifest: ${reason}`),
    };
    detach = o.feed.attach(sink);
    if (settled) detach();
  });
}
