import type {
  DeploymentsTable,
  DeploymentTargetsTable,
  RunsTable,
  TaskRunsTable,
} from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { seeded } from './random.js';

export interface HistoryShape {
  runs: number;
  tasksPerRun: number;
  deployments: number;
  now: number;
  pipeline?: string;
  /** Runs per statement batch. */
  batch?: number;
}

/** What a test needs to find in the generated history. */
export interface GeneratedHistory {
  pipeline: string;
  runIds: string[];
  deploymentIds: string[];
  /** Task ids; the first five form the critical path. */
  taskIds: string[];
  criticalPath: string[];
  /** The task whose duration steps up, and the first run of its slower regime. */
  slowedTask: string;
  slowedFromRun: string;
}

const DAY = 86_400_000;
const LAYERS = 5;

/**
 * A slipway.yml for the generated pipeline (each layer's tasks need every task of the layer
 * before), so serve can simulate its what-if curve from the generated durations.
 */
export function generatedPipelineYaml(gen: Pick<GeneratedHistory, 'pipeline' | 'taskIds'>): string {
  const layers = new Map<number, string[]>();
  for (const id of gen.taskIds) {
    const layer = Number(/#L(\d+)$/.exec(id)![1]);
    layers.set(layer, [...(layers.get(layer) ?? []), id]);
  }
  const lines = ['version: 1', `name: ${gen.pipeline}`, 'tasks:'];
  for (const [layer, ids] of layers)
    for (const id of ids) {
      lines.push(`  "${id}":`, '    run: "true"');
      if (layer > 0)
        lines.push(
          `    needs: [${layers
            .get(layer - 1)!
            .map((d) => `"${d}"`)
            .join(', ')}]`,
        );
    }
  return `${lines.join('\n')}\n`;
}

/** Writes the history; ids are deterministic (`g-run-000042`, `g-dep-0007`). */
export async function seedDashboardHistory(store: Store, shape: HistoryShape): Promise<GeneratedHistory> {
  const rnd = seeded(42);
  const pipeline = shape.pipeline ?? 'generated';
  const perLayer = Math.ceil(shape.tasksPerRun / LAYERS);
  const taskIds = Array.from(
    { length: shape.tasksPerRun },
    (_, i) => `pkg${String(i % perLayer).padStart(2, '0')}#L${Math.floor(i / perLayer)}`,
  );
  // Task k of each layer 0 is on the critical path (and twice as long as its neighbours).
  const criticalPath = taskIds.filter((_, i) => i % perLayer === 0);
  const critical = new Set(criticalPath);
  const slowedTask = taskIds[1]!;
  const slowAt = Math.floor(shape.runs * 0.7);
  const span = 60 * DAY;
  const step = span / Math.max(1, shape.runs);
  const runIds: string[] = [];
  const batch = shape.batch ?? 200;
  let newRuns: RunsTable[] = [];
  let taskRuns: TaskRunsTable[] = [];
  for (let r = 0; r < shape.runs; r++) {
    const id = `g-run-${String(r).padStart(6, '0')}`;
    runIds.push(id);
    const startedAt = Math.round(shape.now - span + r * step);
    const failed = rnd.next() < 0.04;
    let layerStart = startedAt;
    let cached = 0;
    for (let layer = 0; layer < LAYERS; layer++) {
      let layerEnd = layerStart;
      for (let k = 0; k < perLayer; k++) {
        const i = layer * perLayer + k;
        const taskId = taskIds[i];
        if (taskId === undefined) break;
        const base = (critical.has(taskId) ? 4000 : 1500) * (taskId === slowedTask && r >= slowAt ? 1.5 : 1);
        const hit = !critical.has(taskId) && taskId !== slowedTask && rnd.next() < 0.35;
        const duration = hit ? rnd.int(3, 12) : Math.round(rnd.logNormal(base, 0.08));
        const start = layerStart + (critical.has(taskId) ? 0 : rnd.int(0, 200));
        const lastFails = failed && layer === LAYERS - 1 && k === 1;
        const cpu = hit ? 0.01 : (duration / 1000) * 0.8;
        if (hit) cached++;
        taskRuns.push({
          run_id: id,
          task_id: taskId,
          status: lastFails ? 'failed' : 'success',
          cache: hit ? 'hit-local' : 'miss',
          hash: `h${(r * 131 + i).toString(16)}`,
          started_at: start,
          ended_at: start + duration,
          duration_ms: duration,
          predicted_ms: Math.round(base),
          exit_code: lastFails ? 1 : 0,
          cpu_seconds: cpu,
          peak_rss_bytes: (80 + rnd.int(0, 40)) * 1024 * 1024,
          attempts: 1,
          reason: lastFails ? 'exited with code 1' : null,
          failure: lastFails ? JSON.stringify({ reason: 'exit', exitCode: 1 }) : null,
          tags: JSON.stringify(layer === LAYERS - 1 ? ['test'] : ['build']),
          cpu_request: 1,
          memory_request: 256 * 1024 * 1024,
          saved_ms: hit ? Math.round(base) : null,
        });
        layerEnd = Math.max(layerEnd, start + duration);
      }
      layerStart = layerEnd;
    }
    const duration = layerStart - startedAt;
    newRuns.push({
      id,
      pipeline,
      status: failed ? 'failed' : 'success',
      started_at: startedAt,
      ended_at: layerStart,
      duration_ms: duration,
      concurrency: perLayer,
      capacity_cpu: perLayer,
      lower_bound_ms: Math.round(duration * 0.97),
      predicted_makespan_ms: Math.round(duration * 1.03),
      critical_path: JSON.stringify(criticalPath),
      git_sha: (r * 2654435761).toString(16).padStart(40, '0').slice(0, 40),
      git_commit_at: startedAt - 600_000,
      argv: JSON.stringify(['run']),
      pid: 1,
      host: 'bench',
      tasks_total: shape.tasksPerRun,
      tasks_succeeded: shape.tasksPerRun - (failed ? 1 : 0),
      tasks_failed: failed ? 1 : 0,
      tasks_skipped: 0,
      tasks_cached: cached,
    });
    if (newRuns.length >= batch) {
      await store.runs.write({ newRuns, changedRuns: [], taskRuns });
      newRuns = [];
      taskRuns = [];
    }
  }
  if (newRuns.length) await store.runs.write({ newRuns, changedRuns: [], taskRuns });
  const deploymentIds = await seedDeployments(store, shape, rnd.int(1, 1000));
  return {
    pipeline,
    runIds,
    deploymentIds,
    taskIds,
    criticalPath,
    slowedTask,
    slowedFromRun: runIds[slowAt] ?? '',
  };
}

async function seedDeployments(
  store: Pick<Store, 'deployments' | 'appValidations'>,
  shape: HistoryShape,
  seed: number,
): Promise<string[]> {
  const rnd = seeded(seed);
  const ids: string[] = [];
  const span = 60 * DAY;
  const regions = ['eu-west', 'us-east'];
  for (let start = 0; start < shape.deployments; start += 100) {
    const deps: DeploymentsTable[] = [];
    const targets: DeploymentTargetsTable[] = [];
    for (let d = start; d < Math.min(shape.deployments, start + 100); d++) {
      const id = `g-dep-${String(d).padStart(4, '0')}`;
      ids.push(id);
      const startedAt = Math.round(shape.now - span + (d * span) / Math.max(1, shape.deployments) + 1000);
      const status = rnd.next() < 0.05 ? 'rolled-back' : 'success';
      let t = startedAt;
      let sent = 0;
      for (let wave = 0; wave < 3; wave++) {
        const hosts = wave === 0 ? 1 : 2;
        let waveEnd = t;
        for (const region of regions) {
          for (let k = 0; k < hosts; k++) {
            const stage = rnd.int(400, 1600);
            const activate = rnd.int(20, 80);
            const gate = rnd.int(200, 600);
            const bytes = rnd.int(200_000, 2_000_000);
            sent += bytes;
            targets.push({
              deployment_id: id,
              target: `${region}-${wave}-${k}`,
              region,
              agent: `http://127.0.0.1:0/${region}-${wave}-${k}`,
              wave,
              status: status === 'rolled-back' && wave === 2 ? 'rolled-back' : 'active',
              previous_release: d ? `rel-${d - 1}` : null,
              staged_ms: stage,
              activated_at: t + stage + activate,
              bytes_sent: bytes,
              chunks_reused: rnd.int(300, 500),
              chunks_fetched: rnd.int(5, 60),
              health_ok: rnd.int(3, 5),
              health_failed: status === 'rolled-back' && wave === 2 ? 2 : 0,
              health_inconclusive: 0,
              health_errors: 0,
              reason: null,
              phases: JSON.stringify({
                stage: { at: t, ms: stage },
                activate: { at: t + stage, ms: activate },
                gate: { at: t + stage + activate, ms: gate },
              }),
            });
            waveEnd = Math.max(waveEnd, t + stage + activate + gate);
          }
        }
        t = waveEnd;
      }
      deps.push({
        id,
        kind: 'deploy',
        environment: 'production',
        version: `1.${d}.0`,
        release: `rel-${d}`,
        status,
        started_at: startedAt,
        ended_at: t,
        duration_ms: t - startedAt,
        git_sha: null,
        git_commit_at: startedAt - 3_600_000,
        artifact_bytes: 50_000_000,
        bytes_sent: sent,
        origin_egress_bytes: sent,
        chunks_total: 3000,
        chunks_reused: 2800,
        relay: 0,
        reason: status === 'rolled-back' ? 'health gate failed in wave 2' : null,
        owner_pid: null,
        owner_host: null,
        owner_start: null,
      });
    }
    for (const dep of deps)
      await store.deployments.start(
        dep,
        targets.filter((t) => t.deployment_id === dep.id),
      );
    // What the agents measured of the app after activation: start-up grows 2% a release.
    for (const t of targets) {
      const d = Number(t.deployment_id.slice('g-dep-'.length));
      await store.appValidations.insert({
        deployment_id: t.deployment_id,
        target: t.target,
        environment: 'production',
        release: `rel-${d}`,
        wave: t.wave,
        measured_at: (t.activated_at ?? 0) + 1000,
        startup_ms: Math.round(800 * 1.02 ** d) + rnd.int(0, 50),
        rss_bytes: (120 + rnd.int(0, 20)) * 1024 * 1024,
        cpu_cores: 0.2 + rnd.int(0, 10) / 100,
        settle_ms: 1000,
        problem: null,
      });
    }
  }
  return ids;
}
