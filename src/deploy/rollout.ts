/**
 * Activation wave by wave: regions of a wave switch in parallel, hosts of a region in batches of
 * maxUnavailable, each batch must become healthy before the next, and each wave bakes under the
 * health gate. A failed gate rolls back every host that switched.
 */
import type { EventStream } from '../events.js';
import { failpoint } from '../util/failpoint.js';
import type { AppSpec } from './agent/app.js';
import type { ValidateRequest } from './agent/app-validation.js';
import { validateRequest, validateWave } from './app-budget.js';
import type { Environment, HealthConfig, Target } from './environment.js';
import type { DeployEvent, GateOutcome } from './events.js';
import { HostAnalysis, probe, waitHealthy, worst } from './health.js';
import type { StagedTarget } from './stage.js';
import type { ReleaseId } from './types.js';
import { batches } from './waves.js';

export interface RolloutResult {
  outcome: GateOutcome;
  reason?: string;
  /** Hosts that switched (and were rolled back when the outcome is not Successful). */
  activated: StagedTarget[];
}

interface Ctx {
  deploymentId: string;
  env: Environment;
  release: ReleaseId;
  events: EventStream<DeployEvent>;
  signal?: AbortSignal;
  analyses: Map<string, HostAnalysis>;
}

/** What an activation on `target` asks besides the release: the app, how many releases to keep, its measuring. */
export function activation(
  env: Environment,
  target: Target,
): { app?: AppSpec; keep: number; validate?: ValidateRequest } {
  const validate = validateRequest(env, target);
  return {
    ...(env.start ? { app: { command: env.start, env: { ...target.env } } } : {}),
    keep: env.keepReleases,
    ...(validate ? { validate } : {}),
  };
}

/** Activates staged targets wave by wave behind health gates. */
export async function rollout(
  opts: Omit<Ctx, 'analyses'> & { staged: StagedTarget[] },
): Promise<RolloutResult> {
  const ctx: Ctx = { ...opts, analyses: new Map() };
  const { env, events, deploymentId } = ctx;
  const byName = new Map(opts.staged.map((s) => [s.target.name, s]));
  const activated: StagedTarget[] = [];
  let stop: { outcome: GateOutcome; reason: string } | undefined;

  for (const [w, regionNames] of env.waves.entries()) {
    events.emit({ type: 'wave-started', deploymentId, wave: w + 1, regions: regionNames, at: Date.now() });
    const waveHosts: StagedTarget[] = [];
    await Promise.all(
      regionNames.map(async (regionName) => {
        const region = env.regions.find((r) => r.name === regionName)!;
        const hosts = region.targets.map((t) => byName.get(t.name)!).filter(Boolean);
        for (const batch of batches(hosts, region.maxUnavailable)) {
          if (stop || ctx.signal?.aborted) return;
          const switched = await Promise.all(
            batch.map(async (h) => {
              const t0 = Date.now();
              // `expected`: the host must still run what it ran when staged, or another
              // deployment moved it meanwhile and this one stops (409). A host staged and
              // activated in one exchange (stage.ts) has its outcome already.
              const r =
                h.activated?.result ??
                (await h.client.activate(ctx.release, {
                  ...activation(env, h.target),
                  expected: h.previous,
                }));
              // Even a failed call may have switched the symlink: roll it back too.
              activated.push(h);
              if (!r.ok) {
                events.emit({
                  type: 'target-failed',
                  deploymentId,
                  target: h.target.name,
                  at: Date.now(),
                  phase: 'activate',
                  reason: r.error,
                });
                stop ??= { outcome: 'Failed', reason: `activation on ${h.target.name} failed: ${r.error}` };
                return undefined;
              }
              events.emit({
                type: 'target-activated',
                deploymentId,
                target: h.target.name,
                at: h.activated?.at ?? Date.now(),
                activateMs: h.activated?.ms ?? Date.now() - t0,
                previous: h.previous,
              });
              h.switched = true;
              failpoint('deploy:activate');
              waveHosts.push(h);
              return h;
            }),
          );
          const ok = switched.filter((h): h is StagedTarget => h !== undefined);
          if (stop || !env.health) continue;
          const ready = await gate(ctx, ok, env.health, { minSamples: 0, minMs: 0 });
          if (ready.outcome !== 'Successful')
            stop ??= { outcome: ready.outcome, reason: ready.reason ?? 'unhealthy' };
        }
      }),
    );
    if (ctx.signal?.aborted) stop ??= { outcome: 'Inconclusive', reason: 'interrupted' };
    let outcome: GateOutcome = stop?.outcome ?? 'Successful';
    let reason = stop?.reason;
    const t0 = Date.now();
    if (!stop && (env.bakeMs > 0 || env.minSamples > 1)) {
      if (env.health) {
        const baked = await gate(ctx, waveHosts, env.health, {
          minSamples: env.minSamples,
          minMs: env.bakeMs,
          bake: true,
        });
        outcome = baked.outcome;
        reason = baked.reason;
      } else await sleep(env.bakeMs, ctx.signal);
    }
    if (outcome === 'Successful' && env.start) {
      const breach = await validateWave({
        deploymentId,
        env,
        release: ctx.release,
        wave: w + 1,
        hosts: waveHosts,
        events,
        signal: ctx.signal,
      });
      if (breach) {
        outcome = 'Failed';
        reason = breach;
      }
    }
    events.emit({
      type: 'gate-finished',
      deploymentId,
      wave: w + 1,
      outcome,
      at: Date.now(),
      reason,
      bakeMs: Date.now() - t0,
    });
    if (outcome !== 'Successful') {
      await rollBack(ctx, activated);
      return { outcome, reason, activated };
    }
  }
  return { outcome: 'Successful', activated };
}

/**
 * Probes hosts every interval until each is Successful (and, when baking, until `minMs` passed
 * and each host has `minSamples` samples since the bake began), or one fails.
 */
async function gate(
  ctx: Ctx,
  hosts: StagedTarget[],
  cfg: HealthConfig,
  want: { minSamples: number; minMs: number; bake?: boolean },
): Promise<{ outcome: GateOutcome; reason?: string }> {
  if (hosts.length === 0) return { outcome: 'Successful' };
  const start = Date.now();
  const startSamples = new Map<string, number>();
  for (const h of hosts) {
    const a = ctx.analyses.get(h.target.name) ?? new HostAnalysis();
    ctx.analyses.set(h.target.name, a);
    startSamples.set(h.target.name, a.samples);
  }
  const deadline = start + Math.max(cfg.deadlineMs, want.minMs + cfg.intervalMs * (want.minSamples + 2));
  for (;;) {
    await Promise.all(
      hosts.map(async (h) => {
        const p = await probe(h.target.healthUrl!, cfg);
        ctx.analyses.get(h.target.name)!.record(p.phase);
        ctx.events.emit({
          type: 'health-sample',
          deploymentId: ctx.deploymentId,
          target: h.target.name,
          at: Date.now(),
          ...p,
        });
      }),
    );
    failpoint('deploy:gate');
    const verdicts = hosts.map((h) => {
      const a = ctx.analyses.get(h.target.name)!;
      const need = want.bake ? startSamples.get(h.target.name)! + want.minSamples : 0;
      // While baking, a host only has to stay within its limits; before, it has to prove itself.
      const v = a.assess(cfg, need);
      return want.bake && v === 'Running' && a.samples >= need ? 'Successful' : v;
    });
    const verdict = worst(verdicts);
    const bad = hosts.findIndex((_, i) => verdicts[i] === 'Failed' || verdicts[i] === 'Inconclusive');
    if (bad >= 0) {
      const h = hosts[bad]!;
      return {
        outcome: verdict as GateOutcome,
        reason: `${h.target.name}: ${ctx.analyses.get(h.target.name)!.explain(cfg)}`,
      };
    }
    const elapsed = Date.now() - start;
    if (verdict === 'Successful' && elapsed >= want.minMs) return { outcome: 'Successful' };
    if (Date.now() >= deadline) {
      const slow = hosts.find((_, i) => verdicts[i] !== 'Successful');
      return {
        outcome: 'Inconclusive',
        reason: `${slow?.target.name ?? 'a host'} did not become healthy within ${Math.round(cfg.deadlineMs / 1000)}s`,
      };
    }
    if (ctx.signal?.aborted) return { outcome: 'Inconclusive', reason: 'interrupted' };
    await sleep(cfg.intervalMs, ctx.signal);
  }
}

/**
 * Points every given host back at its previous release (or none), in parallel, then waits (up to
 * the health deadline) until each answers its health check again, so "rolled back" means serving.
 */
export async function rollBack(
  ctx: Pick<Ctx, 'events' | 'deploymentId' | 'release'> & { env?: Pick<Environment, 'health'> },
  hosts: StagedTarget[],
): Promise<void> {
  const health = ctx.env?.health;
  await Promise.all(
    hosts.map(async (h) => {
      // A host whose activation failed may or may not have switched: no expectation then.
      const r = await h.client.activate(h.previous, { expected: h.switched ? ctx.release : undefined });
      let reason = r.ok ? undefined : r.error;
      if (r.ok && h.previous && health && h.target.healthUrl) {
        const p = await waitHealthy(h.target.healthUrl, health);
        if (p.phase !== 'Successful') reason = `back on ${h.previous} but its health check is ${p.phase}`;
      }
      ctx.events.emit({
        type: 'target-rolled-back',
        deploymentId: ctx.deploymentId,
        target: h.target.name,
        at: Date.now(),
        to: h.previous,
        ok: r.ok,
        reason,
      });
      failpoint('deploy:rollback');
    }),
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
