/**
 * The worker thread of parallel chunking (cdc-pool.ts, parallel-chunk.ts): chunks one segment of
 * a file per message, through one buffer of its own, and answers with the segment's chunk run or
 * a failure message. Built as its own small file next to whatever starts it (scripts/bundle.mjs).
 */
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import type { SegmentAnswer, SegmentTask } from './cdc-pool.js';
import { fastHasher } from './fast-hash.js';
import { chunkingBuffer } from './fastcdc.js';
import { chunkRun, OldChunks } from './rechunk.js';

let buffer: Buffer | undefined;
/** The old chunk list of the last task, indexed: the next task of the same file says `sameOld`. */
let lastOld: OldChunks | undefined;

async function chunkSegment(task: SegmentTask): Promise<SegmentAnswer> {
  const want = Math.max(2 * 1024 * 1024, task.params.max * 4);
  if (!buffer || buffer.length < want) buffer = chunkingBuffer(want);
  const fh = await open(task.file, 'r');
  try {
    const before = task.sameOld ? lastOld : task.old ? new OldChunks(task.old, task.oldFast) : undefined;
    lastOld = before;
    const hasher = task.seed ? fastHasher(task.seed) : undefined;
    const run = await chunkRun(fh, task.from, (o) => o >= task.stop, before, task.params, buffer, hasher);
    return { seq: task.seq, ok: true, run };
  } finally {
    await fh.close();
  }
}

const port = parentPort;
if (!port) throw new Error('cdc-worker.js runs as a worker thread');
port.on('message', (task: SegmentTask) => {
  chunkSegment(task).then(
    (answer) => port.postMessage(answer),
    (e: unknown) =>
      port.postMessage({ seq: task.seq, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
port.postMessage({ ready: true } satisfies SegmentAnswer);
