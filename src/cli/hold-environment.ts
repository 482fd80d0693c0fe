/** What `deploy` and `rollback` share: holding one environment while they work on it. */
import { newDeploymentId } from '../deploy/deployment-id.js';
import type { Environment } from '../deploy/environment.js';
import {
  type HeldEnvironment,
  type HoldFailure,
  type HoldRefusal,
  holdEnvironment,
} from '../deploy/exclusive.js';
import { describeOwner } from '../deploy/owner.js';
import { deploymentEnded, markInterrupted } from '../deploy/records.js';
import type { Store } from '../store/store.js';
import { type Result, unreachable } from '../util/result.js';
import type { CliContext } from './context.js';

/**
 * Runs `fn` while holding `env` (the store's lease and every agent's lock); with `wait` false and
 * the environment taken, says by whom and returns 1. Ctrl-C or SIGTERM aborts the `signal` given
 * to `fn` (and a wait for the holder). The hold is released after `fn`'s last write, so a lease
 * never disappears before the deployment's final status is recorded.
 */
export async function withEnvironment(
  ctx: CliContext,
  store: Store,
  env: Environment,
  wait: boolean,
  fn: (held: HeldEnvironment, signal: AbortSignal) => Promise<number>,
  /** Agents' locks taken when first needed (exclusive.ts `lazy`): a deploy to a lone host. */
  lazy = false,
): Promise<number> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let held: HeldEnvironment | undefined;
  try {
    const taken = await takeEnvironment(ctx, store, env, wait, abort.signal, lazy);
    if (!taken.ok) {
      const f = taken.error;
      ctx.stderr.write(`error: ${describeRefusal(f)}${f.gaveUp ? '; gave up waiting' : ''}\n`);
      return 1;
    }
    held = taken.value;
    return await fn(held, abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await held?.release();
  }
}

/**
 * Marks deployments of dead processes `interrupted`, then takes the environment (the store's
 * lease and every agent's lock), waiting for a live holder unless `wait` is false.
 */
async function takeEnvironment(
  ctx: CliContext,
  store: Store,
  env: Environment,
  wait: boolean,
  signal: AbortSignal,
  lazy: boolean,
): Promise<Result<HeldEnvironment, HoldFailure>> {
  for (const d of await markInterrupted(store, env.name))
    ctx.stderr.write(
      `slipway: deployment ${d.id} (${d.kind} ${d.version}) was interrupted: its process is gone\n`,
    );
  const isDead = (holder: string) => deploymentEnded(store, holder);
  const r = await holdEnvironment({
    leases: store.leases,
    env,
    deploymentId: newDeploymentId(),
    wait,
    isDead,
    onWait: (r) =>
      ctx.stderr.write(`slipway: ${describeRefusal(r)}; ${waitingFor(r)} (--no-wait fails instead)\n`),
    signal,
    lazy,
  });
  if (r.ok && r.value.tookOver) {
    // The lease's dead holder may not have written its record as running yet: mark it now.
    await markInterrupted(store, env.name);
  }
  return r;
}

/** Who holds the environment, in one line. */
function describeRefusal(r: HoldRefusal): string {
  switch (r.reason) {
    case 'leased': {
      const since = new Date(r.holder.acquiredAt).toISOString().slice(11, 19);
      return `environment ${r.environment} is being deployed by ${r.holder.deploymentId} (${describeOwner(r.holder.owner)}, since ${since})`;
    }
    case 'agent-locked':
      return `agent ${r.target}: ${r.detail}`;
    default:
      return unreachable(r);
  }
}

function waitingFor(r: HoldRefusal): string {
  switch (r.reason) {
    case 'leased':
      return 'waiting for it to finish';
    case 'agent-locked':
      return 'waiting';
    default:
      return unreachable(r);
  }
}
