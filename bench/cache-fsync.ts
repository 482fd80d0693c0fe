/**
 * What durable cache entries cost: saving N entries through `LocalStore.write` and waiting for
 * `settle()` (data fsync, rename, folder fsync, off the event loop) against the same write without
 * any fsync (the store before entries were made durable), alternating rounds so both see the
 * same background load. Prints the median per-round ratio. The cold-run cost, which is what a
 * user sees, is smaller: the flushes overlap the tasks. Run alone: `node dist/bench/cache-fsync.js [entries] [bytes] [rounds]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalStore } from '../src/cache/local-store.js';
import { median } from './lib/calibrate.js';

const entries = Number(process.argv[2] ?? 400);
const bytes = Number(process.argv[3] ?? 16 * 1024);
const rounds = Number(process.argv[4] ?? 7);

/** The write as it was: temp name and rename, no fsync. */
function writeVolatile(store: LocalStore, hash: string, data: Buffer): void {
  const tmp = path.join(store.dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const final = store.entryPath(hash);
  mkdirSync(path.dirname(final), { recursive: true });
  const t = path.join(tmp, `${hash}.${process.pid}`);
  writeFileSync(t, data);
  renameSync(t, final);
}

async function round(durable: boolean): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'slipway-bench-fsync-'));
  const store = new LocalStore(dir);
  const data = randomBytes(bytes);
  const hashes = Array.from({ length: entries }, () => randomBytes(32).toString('hex'));
  const t = process.hrtime.bigint();
  for (const h of hashes) {
    if (durable) store.write(h, data);
    else writeVolatile(store, h, data);
  }
  // What a run waits for at its end: every entry durable and in place.
  if (durable && (await store.settle()).length) throw new Error('entries not stored');
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const volatile: number[] = [];
const durable: number[] = [];
const ratios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const v = await round(false);
  const d = await round(true);
  volatile.push(v);
  durable.push(d);
  ratios.push(d / v);
}
console.log(
  `${entries} entries of ${bytes} B in ${tmpdir()}: no fsync ${median(volatile).toFixed(1)} ms, ` +
    `fsync ${median(durable).toFixed(1)} ms (${(median(durable) / entries).toFixed(3)} ms/entry), ` +
    `median ratio ${median(ratios).toFixed(2)}`,
);
