// Fails when the bundle outgrows its budget (raw and gzip), so size creep is caught in the pipeline.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = { raw: 12 * 1024, gzip: 4 * 1024 };
const code = readFileSync(new URL('../bundle/tally.mjs', import.meta.url));
const raw = code.length;
const gzip = gzipSync(code, { level: 9 }).length;
const pct = (n, of) => `${Math.round((n / of) * 100)}%`;
console.log(
  `bundle/tally.mjs: ${raw} bytes (${pct(raw, BUDGET.raw)} of budget), ${gzip} gzipped (${pct(gzip, BUDGET.gzip)})`,
);
if (raw > BUDGET.raw || gzip > BUDGET.gzip) {
  console.error(`size budget exceeded: raw <= ${BUDGET.raw}, gzip <= ${BUDGET.gzip}`);
  process.exitCode = 1;
}
