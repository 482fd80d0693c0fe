/**
 * Application validation in the rollout: what activation asks each agent to measure, and, at the
 * end of a wave, the measurements collected, announced (`app-validated`) and held against the
 * deploy budgets. A target over budget fails the wave, so "the new release starts 40% slower"
 * stops at the first wave instead of reaching every host.
 */
import type { EventStream } from '../events.js';
import { formatBytes, formatMs } from '../util/units.js';
import type { AppValidation, ValidateRequest } from './agent/app-validation.js';
import type { AppValidationConfig, Environment } from './environment.js';
import type { DeployEvent } from './events.js';
import type { StagedTarget } from './stage.js';

/** What activation asks the agent to measure; undefined when the environment runs no app. */
export function validateRequest(
  env: Environment,
  target: StagedTarget['target'],
): ValidateRequest | undefined {
  if (!env.start || !env.validation) return undefined;
  return {
    ...(target.healthUrl ? { healthUrl: target.healthUrl } : {}),
    settleMs: env.validation.settleMs,
    deadlineMs: env.health?.deadlineMs ?? 60_000,
    ...(env.health ? { successStatus: env.health.successStatus } : {}),
  };
}

/** The budgets a measurement exceeds, as messages (empty: within budget, or nothing measured). */
export function overBudget(
  v: Pick<AppValidation, 'startupMs' | 'rssBytes' | 'cpuCores'>,
  b: AppValidationConfig,
): string[] {
  const out: string[] = [];
  if (b.startupMs !== undefined && v.startupMs !== null && v.startupMs > b.startupMs)
    out.push(`start-up ${formatMs(v.startupMs)} exceeds the budget of ${formatMs(b.startupMs)}`);
  if (b.rssBytes !== undefined && v.rssBytes !== null && v.rssBytes > b.rssBytes)
    out.push(`resident memory ${formatBytes(v.rssBytes)} exceeds the budget of ${formatBytes(b.rssBytes)}`);
  if (b.cpuCores !== undefined && v.cpuCores !== null && v.cpuCores > b.cpuCores)
    out.push(`CPU ${v.cpuCores.toFixed(2)} cores exceeds the budget of ${b.cpuCores}`);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for each host's measurement of `release` (bounded by the settle period plus the health
 * deadline), emits it, and returns why the wave fails its budgets, if it does. A host whose
 * agent cannot say is reported as unmeasured, not as over budget.
 */
export async function validateWave(opts: {
  deploymentId: string;
  env: Environment;
  release: string;
  wave: number;
  hosts: readonly StagedTarget[];
  events: EventStream<DeployEvent>;
  signal?: AbortSignal;
}): Promise<string | undefined> {
  const cfg = opts.env.validation;
  if (!cfg || !opts.env.start) return undefined;
  const deadline = Date.now() + cfg.settleMs + (opts.env.health?.deadlineMs ?? 60_000) + 10_000;
  const breaches: string[] = [];
  await Promise.all(
    opts.hosts.map(async (h) => {
      let v: AppValidation | null = null;
      let problem: string | undefined;
      for (;;) {
        const r = await h.client.appValidation();
        if (!r.ok) {
          problem = r.error;
          break;
        }
        v = r.value.validation;
        if (v?.release === opts.release && v.state === 'done') break;
        if (Date.now() >= deadline || opts.signal?.aborted) {
          problem =
            v?.release === opts.release ? 'measurement still running at the deadline' : 'no measurement';
          break;
        }
        await sleep(100);
      }
      const measured = v?.release === opts.release ? v : null;
      const over = measured ? overBudget(measured, cfg) : [];
      for (const m of over) breaches.push(`${h.target.name}: ${m}`);
      const why = problem ?? measured?.problem;
      opts.events.emit({
        type: 'app-validated',
        deploymentId: opts.deploymentId,
        target: h.target.name,
        wave: opts.wave,
        release: opts.release,
        at: Date.now(),
        startupMs: measured?.startupMs ?? null,
        rssBytes: measured?.rssBytes ?? null,
        cpuCores: measured?.cpuCores ?? null,
        settleMs: cfg.settleMs,
        ...(why ? { problem: why } : {}),
        overBudget: over,
      });
    }),
  );
  return breaches.length ? `deploy budget exceeded: ${breaches.join('; ')}` : undefined;
}
