/**
 * The deployer as its own process for the deploy-vs-rsync bench, so its wall time includes
 * start-up (as rsync's does) and its peak RSS is its own. Argument: a JSON object
 * `{ env, version, ledgerDir }`; prints one JSON line with the outcome, timings and peak RSS.
 */
import { runDeployment } from '../src/deploy/deploy.js';
import type { Environment } from '../src/deploy/environment.js';
import type { DeployEvent } from '../src/deploy/events.js';
import { EventStream } from '../src/events.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { env: Environment; version: string; ledgerDir?: string };
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
    maxRssKb: process.resourceUsage().maxRSS,
  })}\n`,
);
