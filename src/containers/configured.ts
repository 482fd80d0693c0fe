/** The container analyses slipway.yml's analyze: section asks for, for `check` and `report`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import type { CacheOutcome, TaskRunStatus } from '../events.js';
import type { DockerAnalysis } from './docker/analyze.js';
import { INSTALL } from './docker/layers.js';
import type { ContainerFinding } from './findings.js';
import type { K8sAnalysis } from './k8s/analyze.js';
import { readMetricsFile, runDocker, runK8s } from './run.js';

/**
 * What the install step's time is read from: the recorded runs' tasks (the report passes its
 * history's runs, analyze/history.ts, which have these fields and more).
 */
interface RecordedRun {
  tasks: readonly {
    taskId: string;
    status: TaskRunStatus;
    cache: CacheOutcome | null;
    durationMs: number | null;
  }[];
}

export interface ConfiguredAnalysis {
  docker: DockerAnalysis[];
  k8s: K8sAnalysis | null;
  findings: ContainerFinding[];
}

/** Runs the configured analyses; null when slipway.yml has no analyze: section. */
export function analyzeConfigured(
  pipeline: Pipeline,
  runs: readonly RecordedRun[] = [],
): ConfiguredAnalysis | null {
  const cfg = pipeline.raw.analyze;
  if (!cfg) return null;
  const at = (p: string) => path.resolve(pipeline.root, p);
  // A path in slipway.yml that does not exist is a config error at its line, not a usage error.
  const missing = (p: string, where: (string | number)[]) => {
    if (!existsSync(at(p)))
      throw new ConfigError(
        [
          {
            location: pipeline.locate(['analyze', ...where]),
            message: `no such file or folder: ${p}`,
            hint: 'paths in analyze: are relative to slipway.yml',
          },
        ],
        pipeline.source,
      );
  };
  cfg.docker.forEach((d, i) => {
    if (typeof d === 'string') missing(d, ['docker', i]);
    else {
      missing(d.file, ['docker', i, 'file']);
      if (d.context) missing(d.context, ['docker', i, 'context']);
    }
  });
  for (const [i, p] of cfg.k8s.entries()) missing(p, ['k8s', i]);
  if (cfg.metrics) missing(cfg.metrics, ['metrics']);
  const install = installTime(pipeline, runs, cfg.installTask);
  const docker = cfg.docker.map((d) => {
    const t =
      typeof d === 'string'
        ? { file: at(d) }
        : { file: at(d.file), ...(d.context ? { context: at(d.context) } : {}) };
    return runDocker(t, {
      base: pipeline.root,
      commits: cfg.commits,
      ...(install ? { installSeconds: install.seconds, installSource: install.source } : {}),
    });
  });
  const k8s = cfg.k8s.length
    ? runK8s(cfg.k8s.map(at), {
        base: pipeline.root,
        ...(cfg.metrics ? { observed: readMetricsFile(at(cfg.metrics)) } : {}),
        ...(cfg.rolloutTarget !== undefined ? { targetSeconds: cfg.rolloutTarget / 1000 } : {}),
      })
    : null;
  return { docker, k8s, findings: [...docker.flatMap((d) => d.findings), ...(k8s?.findings ?? [])] };
}

/**
 * The install step's time from history: the median executed (not cached) duration of the
 * named task, or of the one task whose command installs dependencies.
 */
function installTime(
  pipeline: Pipeline,
  runs: readonly RecordedRun[],
  taskId: string | undefined,
): { seconds: number; source: string } | null {
  const id =
    taskId ??
    [...pipeline.tasks.values()]
      .filter((t) => INSTALL.test(t.run))
      .map((t) => t.id)
      .sort()[0];
  if (!id) return null;
  const ds = runs
    .flatMap((r) => r.tasks)
    .filter(
      (t) =>
        t.taskId === id &&
        t.status === 'success' &&
        t.cache !== 'hit-local' &&
        t.cache !== 'hit-remote' &&
        t.durationMs !== null,
    )
    .map((t) => t.durationMs!)
    .sort((a, b) => a - b);
  if (ds.length === 0) return null;
  const median = ds[Math.floor((ds.length - 1) / 2)]!;
  return { seconds: median / 1000, source: `median of ${ds.length} runs of task ${id}` };
}
