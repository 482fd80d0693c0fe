/**
 * Records what the agents measured of the app after each deploy: one row per `app-validated`
 * event of a deployment, in the store's app_validations table (store/app-validations.ts).
 */
import type { EventStream } from '../events.js';
import type { AppValidationQueries, AppValidationsTable } from '../store/app-validations.js';
import type { DeployEvent } from './events.js';

/** Subscribes to a deployment's events; `flush()` waits for the writes and returns failures. */
export function recordAppValidations(
  queries: AppValidationQueries,
  events: EventStream<DeployEvent>,
): { flush(): Promise<string[]> } {
  let environment = '';
  let chain: Promise<void> = Promise.resolve();
  const errors: string[] = [];
  events.subscribe((e) => {
    if (e.type === 'deploy-started') environment = e.environment;
    if (e.type !== 'app-validated') return;
    const row: AppValidationsTable = {
      deployment_id: e.deploymentId,
      target: e.target,
      environment,
      release: e.release,
      wave: e.wave,
      measured_at: e.at,
      startup_ms: e.startupMs,
      rss_bytes: e.rssBytes === null ? null : Math.round(e.rssBytes),
      cpu_cores: e.cpuCores,
      settle_ms: e.settleMs,
      problem: e.problem ?? null,
    };
    chain = chain
      .then(() => queries.insert(row))
      .then(
        () => {},
        (err: unknown) => {
          errors.push(String((err as Error)?.message ?? err));
        },
      );
  });
  return {
    flush: async () => {
      await chain;
      return errors;
    },
  };
}
