/**
 * The deployments page's release panel: what the agents measured of the app after each deploy
 * (start-up time, memory, CPU; store.appValidations) per release, and the rollbacks of the
 * period with their reasons and health samples.
 */
import type { Store } from '../store/store.js';
import { quantile } from '../util/quantile.js';

const DAY = 86_400_000;
const RELEASE_DAYS = 90;

export interface ReleaseStats {
  release: string;
  environment: string;
  /** The deployment's version, when the deployment is still in the store. */
  version: string | null;
  deployments: number;
  /** Targets measured. */
  samples: number;
  firstMeasuredAt: number;
  startupP50Ms: number | null;
  startupMaxMs: number | null;
  rssP50Bytes: number | null;
  rssMaxBytes: number | null;
  cpuP50Cores: number | null;
  /** Measurements that reported a problem (the first one's text). */
  problems: number;
  problem: string | null;
}

export interface RollbackRow {
  id: string;
  kind: string;
  environment: string;
  version: string;
  status: string;
  startedAt: number;
  reason: string | null;
  health: { ok: number; failed: number };
}

export interface ReleasesView {
  days: number;
  /** Newest first. */
  releases: ReleaseStats[];
  rollbacks: RollbackRow[];
}

const p50 = (xs: number[]) => (xs.length ? quantile(xs, 0.5) : null);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
const present = <T>(xs: (T | null)[]) => xs.filter((x): x is T => x !== null);

export async function releasesView(store: Store, now: number): Promise<ReleasesView> {
  const from = now - RELEASE_DAYS * DAY;
  const [rows, deployments, health] = await Promise.all([
    store.appValidations.since(from),
    store.dashboard.deploymentsInWindow({ from, to: now + 1 }),
    store.dashboard.deploymentHealth({ from, to: now + 1 }),
  ]);
  const version = new Map(deployments.map((d) => [d.id, d.version]));
  const groups = new Map<string, typeof rows>();
  for (const r of rows) {
    const k = `${r.environment}\0${r.release}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const releases = [...groups.values()]
    .map((g): ReleaseStats => {
      const problems = g.filter((r) => r.problem !== null);
      return {
        release: g[0]!.release,
        environment: g[0]!.environment,
        version: version.get(g[0]!.deployment_id) ?? null,
        deployments: new Set(g.map((r) => r.deployment_id)).size,
        samples: g.length,
        firstMeasuredAt: Math.min(...g.map((r) => r.measured_at)),
        startupP50Ms: p50(present(g.map((r) => r.startup_ms))),
        startupMaxMs: max(present(g.map((r) => r.startup_ms))),
        rssP50Bytes: p50(present(g.map((r) => r.rss_bytes))),
        rssMaxBytes: max(present(g.map((r) => r.rss_bytes))),
        cpuP50Cores: p50(present(g.map((r) => r.cpu_cores))),
        problems: problems.length,
        problem: problems[0]?.problem ?? null,
      };
    })
    .sort((a, b) => b.firstMeasuredAt - a.firstMeasuredAt);
  const byId = new Map(health.map((h) => [h.deployment_id, h]));
  const rollbacks = deployments
    .filter((d) => d.kind === 'rollback' || d.status === 'rolled-back')
    .reverse()
    .map((d) => ({
      id: d.id,
      kind: d.kind,
      environment: d.environment,
      version: d.version,
      status: d.status,
      startedAt: d.started_at,
      reason: d.reason,
      health: { ok: byId.get(d.id)?.ok ?? 0, failed: byId.get(d.id)?.failed ?? 0 },
    }));
  return { days: RELEASE_DAYS, releases, rollbacks };
}
