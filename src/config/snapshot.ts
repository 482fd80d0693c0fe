/**
 * The pipeline snapshot: the resolved pipeline (workspace templates expanded) kept in
 * `.slipway/pipeline.snapshot.json` with the stat of every file and folder the loader read. When
 * none of them changed, `run` reuses it instead of parsing YAML, validating and reading every
 * package.json again — and never loads the YAML and schema code at all.
 *
 * A snapshot is only a shortcut: any difference (a file edited, added or removed, a folder listed
 * differently, another Slipway build) means a full load, which writes a new one. A file modified
 * in the last two seconds keeps the snapshot from being written (its mtime may not move again
 * on a second edit within the same tick).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeAtomicSync } from '../state/atomic-write.js';
import { snapshotFile } from '../state/paths.js';
import { isRacy } from '../state/racy.js';
import { buildId } from '../util/build-id.js';
import { DEFAULT_FILE, type Pipeline, type TaskConfig } from './types.js';
import { rememberWorkspace, WORKSPACE_SKIP, type Workspace, workspaceOf } from './workspace-model.js';

const FORMAT = 1;

interface SnapshotFile {
  format: number;
  /** Which Slipway build wrote it. */
  build: string;
  file: string;
  /** [absolute path, stat signature or null when absent]. */
  deps: [string, string | null][];
  pipeline: Omit<Pipeline, 'tasks' | 'locate'> & { tasks: TaskConfig[] };
  workspace?: {
    packageManager: Workspace['packageManager'];
    packages: Workspace['packages'] extends Map<string, infer P> ? P[] : never;
  };
}

/**
 * The pipeline in `file`: from its snapshot when nothing it was made from changed, else loaded
 * in full (throwing ConfigError like `loadPipeline`) and snapshotted for next time.
 */
export async function loadPipelineSnapshotted(file: string = DEFAULT_FILE): Promise<Pipeline> {
  const abs = path.resolve(file);
  const cached = readSnapshot(abs);
  if (cached) return cached;
  const { loadPipeline } = await import('./load.js');
  const reads = new Set<string>();
  const pipeline = loadPipeline(file, reads);
  writeSnapshot(pipeline, reads);
  return pipeline;
}

/** The snapshot of the pipeline file `abs`, if every file it was made from is unchanged. */
function readSnapshot(abs: string): Pipeline | undefined {
  let snap: SnapshotFile;
  try {
    snap = JSON.parse(readFileSync(snapshotFile(path.dirname(abs)), 'utf8')) as SnapshotFile;
  } catch {
    return undefined;
  }
  if (snap.format !== FORMAT || snap.file !== abs || snap.build !== buildId()) return undefined;
  for (const [p, sig] of snap.deps) if (signature(p) !== sig) return undefined;
  const display = path.relative(process.cwd(), abs) || abs;
  const pipeline: Pipeline = {
    ...snap.pipeline,
    tasks: new Map(snap.pipeline.tasks.map((t) => [t.id, t])),
    // Only commands that report nothing about the file's contents use a snapshot.
    locate: () => ({ file: display, line: 1, col: 1 }),
  };
  if (snap.workspace) {
    rememberWorkspace(pipeline, {
      packageManager: snap.workspace.packageManager,
      packages: new Map(snap.workspace.packages.map((p) => [p.name, p])),
    });
  }
  return pipeline;
}

/** Writes the snapshot of a freshly loaded pipeline; `reads` is what the loader looked at. */
function writeSnapshot(pipeline: Pipeline, reads: ReadonlySet<string>): void {
  const now = Date.now();
  const deps: [string, string | null][] = [];
  for (const p of [...reads].sort()) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    // A file written within the last tick could change again without its mtime moving.
    if (st && !st.isDirectory() && isRacy(Math.max(st.mtimeMs, st.ctimeMs), now)) return;
    deps.push([p, signature(p)]);
  }
  const { tasks, locate: _locate, ...rest } = pipeline;
  const ws = workspaceOf(pipeline);
  const snap: SnapshotFile = {
    format: FORMAT,
    build: buildId(),
    file: pipeline.file,
    deps,
    pipeline: { ...rest, tasks: [...tasks.values()] },
    ...(ws ? { workspace: { packageManager: ws.packageManager, packages: [...ws.packages.values()] } } : {}),
  };
  const target = snapshotFile(pipeline.root);
  try {
    writeAtomicSync(target, JSON.stringify(snap));
  } catch {
    // A read-only checkout: every run loads the file in full, nothing else changes.
  }
}

/**
 * What must not change for a snapshot to stand: for a file its size, times, inode and mode; for
 * a folder the folders in it (what the package search looks at: a new file at the top of the
 * repository changes nothing); null when absent.
 */
function signature(p: string): string | null {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return null;
  if (!st.isDirectory()) return `f ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.ino} ${st.mode}`;
  try {
    const dirs = readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !WORKSPACE_SKIP.has(d.name))
      .map((d) => d.name)
      .sort();
    return `d ${dirs.join('/')}`;
  } catch {
    return null;
  }
}
