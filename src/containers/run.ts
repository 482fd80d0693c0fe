/** Running the container analyzers from options (CLI) or from slipway.yml's analyze: section (check, report). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/usage-error.js';
import { analyzeDockerfile, type DockerAnalysis } from './docker/analyze.js';
import { analyzeManifests, type K8sAnalysis } from './k8s/analyze.js';
import { loadManifests, manifestFiles } from './k8s/manifests.js';
import { metricsFileSchema, type Observations, observationsFrom } from './k8s/observed.js';

export interface DockerTarget {
  file: string;
  context?: string;
}

/** Paths as findings show them: relative to `base` (the repository or pipeline folder), `/`-separated. */
function displayPath(base: string, file: string): string {
  const rel = path.relative(base, path.resolve(file));
  return (rel.startsWith('..') ? path.resolve(file) : rel).split(path.sep).join('/');
}

export function runDocker(
  t: DockerTarget,
  o: { base: string; commits?: number; installSeconds?: number; installSource?: string },
): DockerAnalysis {
  if (!existsSync(t.file))
    throw new UsageError(
      `no Dockerfile at ${t.file}`,
      'give its path: slipway analyze docker path/to/Dockerfile',
    );
  if (t.context && !existsSync(t.context))
    throw new UsageError(`no build context folder ${t.context}`, 'pass --context with an existing folder');
  return analyzeDockerfile({
    dockerfile: t.file,
    ...(t.context ? { context: t.context } : {}),
    ...(o.commits ? { commits: o.commits } : {}),
    ...(o.installSeconds !== undefined ? { installSeconds: o.installSeconds } : {}),
    ...(o.installSource ? { installSource: o.installSource } : {}),
    displayFile: displayPath(o.base, t.file),
  });
}

export function runK8s(
  paths: readonly string[],
  o: { base: string; observed?: Observations; targetSeconds?: number },
): K8sAnalysis {
  for (const p of paths)
    if (!existsSync(p))
      throw new UsageError(`no manifest file or folder ${p}`, 'give YAML files or folders of them');
  const files = manifestFiles(paths);
  const { manifests, errors } = loadManifests(files, (f) => displayPath(o.base, f));
  return analyzeManifests(manifests, errors, {
    ...(o.observed ? { observed: o.observed } : {}),
    ...(o.targetSeconds !== undefined ? { targetSeconds: o.targetSeconds } : {}),
  });
}

/** Reads a metrics file (`--metrics`), with the offending value in the error. */
export function readMetricsFile(file: string): Observations {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(
      `cannot read metrics file ${file}: ${(e as Error).message}`,
      'a JSON file: { "containers": { "<deployment>/<container>": { "startupSeconds": 42, "cpuP90": "180m", "memoryPeak": "300Mi" } } }',
    );
  }
  const parsed = metricsFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(
      `${file}: ${issue.path.join('.')}: ${issue.message}`,
      'keys: containers.<deployment>[/<container>].{startupSeconds,cpuP90,cpuPeak,memoryPeak}',
    );
  }
  return observationsFrom(parsed.data, path.basename(file));
}
