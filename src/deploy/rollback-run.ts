/** `slipway rollback`: every host of an environment switched back, recorded as a deployment. */
import type { EventStream } from '../events.js';
import { failpoint } from '../util/failpoint.js';
import type { AgentClient } from './agent-client.js';
import type { DeployOutcome } from './deploy.js';
import { newDeploymentId } from './deployment-id.js';
import { clientsOf } from './env-clients.js';
import type { Environment } from './environment.js';
import type { DeployEvent } from './events.js';
import { waitHealthy } from './health.js';
import type { Owner } from './owner.js';
import type { ReleaseId } from './types.js';

/**
 * `slipway rollback`: every target goes to `to` (a release the store knows was live before), or,
 * without it, to each agent's own previous release.
 */
export async function runRollback(opts: {
  env: Environment;
  events: EventStream<DeployEvent>;
  to?: { release: ReleaseId; version: string };
  deploymentId?: string;
  clients?: Map<string, AgentClient>;
  owner?: Owner;
}): Promise<DeployOutcome> {
  const { env, events } = opts;
  const deploymentId = opts.deploymentId ?? newDeploymentId();
  const clients = opts.clients ?? clientsOf(env);
  const t0 = Date.now();
  const targets = env.regions.flatMap((r) => r.targets.map((t) => ({ t, region: r.name })));
  events.emit({
    type: 'deploy-started',
    deploymentId,
    kind: 'rollback',
    environment: env.name,
    version: opts.to?.version ?? '(previous)',
    release: opts.to?.release ?? '(previous)',
    at: t0,
    artifactBytes: 0,
    files: 0,
    chunksTotal: 0,
    chunkMs: 0,
    relay: false,
    waves: [env.regions.map((r) => r.name)],
    targets: targets.map(({ t, region }) => ({ target: t.name, region, wave: 1, agent: t.agentUrl })),
    owner: opts.owner,
  });
  const failures: string[] = [];
  await Promise.all(
    targets.map(async ({ t }) => {
      const client = clients.get(t.name)!;
      const fail = (reason: string) => {
        failures.push(`${t.name}: ${reason}`);
        events.emit({
          type: 'target-failed',
          deploymentId,
          target: t.name,
          at: Date.now(),
          phase: 'activate',
          reason,
        });
      };
      const before = await client.status();
      // `expected`: what this host ran a moment ago; if anything moved it since, refuse (409).
      const expected = before.ok ? before.value.current : undefined;
      const r = opts.to
        ? await client.activate(opts.to.release, { expected })
        : await client.rollback(undefined, expected);
      failpoint('rollback:activate');
      if (r.ok && env.health && t.healthUrl) {
        const p = await waitHealthy(t.healthUrl, env.health);
        if (p.phase !== 'Successful')
          return fail(`switched back but the health check is ${p.phase}${p.status ? ` (${p.status})` : ''}`);
      }
      if (!r.ok) return fail(r.error);
      events.emit({
        type: 'target-activated',
        deploymentId,
        target: t.name,
        at: Date.now(),
        activateMs: Date.now() - t0,
        previous: before.ok ? before.value.current : null,
      });
    }),
  );
  const status = failures.length ? 'failed' : 'success';
  const reason = failures.length ? `rollback failed on ${failures.join('; ')}` : undefined;
  events.emit({
    type: 'deploy-finished',
    deploymentId,
    at: Date.now(),
    status,
    durationMs: Date.now() - t0,
    reason,
    bytesSent: 0,
    originEgressBytes: 0,
  });
  return { deploymentId, status, release: opts.to?.release ?? ('(previous)' as ReleaseId), reason };
}
