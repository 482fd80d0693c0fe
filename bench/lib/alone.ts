/** Running one bench module on its own (`node dist/bench/cache.js [--quick]`): the same table as `npm run bench`. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchRow } from './row.js';
import { renderTable } from './table.js';

/** When `moduleUrl` is the script node was started with, runs `bench` and prints its rows. */
export function runAlone(moduleUrl: string, bench: (o: BenchOptions) => Promise<BenchRow[]>): void {
  const file = fileURLToPath(moduleUrl);
  if (!process.argv[1] || resolve(process.argv[1]) !== file) return;
  bench({
    root: resolve(file, '..', '..', '..'),
    quick: process.argv.includes('--quick'),
    log: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (rows) => {
      process.stdout.write(`${renderTable(rows)}\n`);
      if (rows.some((r) => r.pass === false)) process.exitCode = 1;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
