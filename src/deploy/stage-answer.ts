/**
 * A staging's answer as the deployer reads it: NDJSON progress lines, then `done` or `error`,
 * for POST /v1/stage (agent-client.ts) and the streamed POST /v1/stage-stream (stage-stream.ts)
 * alike; a broken or ended stream is an error value.
 */
import type { IncomingMessage } from 'node:http';
import { err, ok, type Result } from '../util/result.js';
import type { StageProgress, StageResult } from './agent/operations.js';
import { causeOf } from './chunk-client.js';
import { answerLines } from './http-call.js';

export async function readStageAnswer(
  res: IncomingMessage,
  agent: string,
  onProgress?: (p: StageProgress) => void,
): Promise<Result<StageResult, string>> {
  try {
    for await (const line of answerLines(res)) {
      const msg = JSON.parse(line) as
        | ({ type: 'progress' } & StageProgress)
        | { type: 'done'; result: StageResult }
        | { type: 'error'; message: string };
      if (msg.type === 'progress') onProgress?.(msg);
      else if (msg.type === 'done') return ok(msg.result);
      else return err(msg.message);
    }
  } catch (e) {
    return err(`agent ${agent} broke off while staging: ${causeOf(e)}`);
  }
  return err(`agent ${agent} stopped answering while staging (did it crash?)`);
}
