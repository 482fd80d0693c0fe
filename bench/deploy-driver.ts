/**
 * The deployer as its own process for the deploy-vs-rsync bench, so its wall time includes
 * start-up (as rsync's does) and its peak RSS is its own. Argument: a JSON object
 * `{ env, version, ledgerDir }`; prints one JSON line with the outcome, timings and peak RSS.
 */
import { readFileSync } from 'node:fs';
import { runDeployment } from '../src/deploy/deploy.js';
import type { Environment } from '../src/deploy/environment.js';
import type { DeployEvent } from '../src/deploy/events.js';
import { EventStream } from '../src/events.js';
import { compileHotCodeOnly } from '../src/util/hot-code-only.js';
import { preferSmallHeap } from '../src/util/small-heap.js';

/**
 * This process's own peak RSS: VmHWM of its address space. Not `resourceUsage().maxRSS`, which
 * Linux carries over an exec from the forked parent's address space, so that it reported the
 * bench's own peak (400 MB after reading and rewriting the 200 MB file) as the deployer's.
 */
function peakRssKb(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

const args = JSON.parse(process.argv[2] ?? '{}') as { env: Environment; version: string; ledgerDir?: string };
// As the CLI's `deploy` does (cli/deploy.ts).
preferSmallHeap();
compileHotCodeOnly();
const events = new EventStream<DeployEvent>();
let chunkMs = 0;
let bytesSent = 0;
events.subscribe((e) => {
  if (e.type === 'deploy-started') chunkMs = e.chunkMs;
  if (e.type === 'deploy-finished') bytesSent = e.bytesSent;
});
const t0 = performance.now();
const r = await runDeployment({ env: args.env, version: args.version, events, ledgerDir: args.ledgerDir });
const ms = performance.now() - t0;
process.stdout.write(
  `${JSON.stringify({
    ok: r.ok && r.value.status === 'success',
    release: r.ok ? r.value.release : undefined,
    reason: r.ok ? r.value.reason : r.error,
    ms,
    chunkMs,
    bytesSent,
    maxRssKb: peakRssKb(),
  })}\n`,
);
