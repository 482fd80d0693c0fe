/**
 * The pipeline snapshot: the resolved pipeline (workspace templates expanded) kept in the
 * ledger's `pipeline` section (state/ledger.ts) with the stat record of every file and folder the
 * loader read. When none of them changed, `run` reuses it instead of parsing YAML, validating and
 * reading every package.json again — and never loads the YAML and schema code at all.
 *
 * A snapshot is only a shortcut: any difference (a file edited, added or removed, a folder listed
 * differently, another Slipway build) means a full load, which writes a new one. A racy file
 * (state/racy.ts) keeps the snapshot from being written.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Ledger } from '../state/ledger.js';
import { isRacyRecord, statRecord } from '../state/stat-record.js';
import { buildId } from '../util/build-id.js';
import { DEFAULT_FILE, type Pipeline, type TaskConfig } from './types.js';
import { rememberWorkspace, WORKSPACE_SKIP, type Workspace, workspaceOf } from './workspace-model.js';

/** The section's own format, inside the ledger's. */
const FORMAT = 2;

/**
 * What must not change for a snapshot to stand, per path the loader read: the stat record of a
 * file (empty when absent); for a folder, the folders in it (what the package search looks at: a
 * new file at the top of the repository changes nothing), with the folder's own record when it
 * was not racy, so an unchanged folder is not listed again.
 */
type Dep = [path: string, record: string] | [path: string, record: string, folders: string];

interface SnapshotSection {
  format: number;
  /** Which Slipway build made it (another one may resolve the pipeline differently). */
  build: string;
  file: string;
  deps: Dep[];
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
export async function loadPipelineSnapshotted(
  file: string = DEFAULT_FILE,
  ledger: Ledger = Ledger.load(path.dirname(path.resolve(file))),
): Promise<Pipeline> {
  const abs = path.resolve(file);
  const cached = readSnapshot(abs, ledger.get('pipeline'));
  if (cached) return cached;
  const { loadPipeline } = await import('./load.js');
  const reads = new Set<string>();
  const pipeline = loadPipeline(file, reads);
  const snap = snapshotOf(pipeline, reads);
  if (snap) {
    ledger.set('pipeline', snap);
    ledger.save();
  }
  return pipeline;
}

/** The pipeline of `section` when it is a snapshot of `abs` and nothing it was made from changed. */
function readSnapshot(abs: string, section: unknown): Pipeline | undefined {
  const snap = section as SnapshotSection | undefined;
  if (snap?.format !== FORMAT || snap.build !== buildId() || snap.file !== abs) return undefined;
  if (!Array.isArray(snap.deps)) return undefined;
  for (const dep of snap.deps) if (!unchanged(dep)) return undefined;
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

/**
 * The snapshot of a freshly loaded pipeline; `reads` is what the loader looked at. Undefined when
 * a file it read is racy: it could change again without its record moving.
 */
function snapshotOf(pipeline: Pipeline, reads: ReadonlySet<string>): SnapshotSection | undefined {
  const now = Date.now();
  const deps: Dep[] = [];
  for (const p of [...reads].sort()) {
    const record = statRecord(p);
    const folders = isFolder(record) ? foldersIn(p) : undefined;
    if (folders === undefined) {
      if (isRacyRecord(record, now)) return undefined;
      deps.push([p, record]);
    } else {
      // A racy folder record is left out: its listing decides.
      deps.push([p, isRacyRecord(record, now) ? '' : record, folders]);
    }
  }
  const { tasks, locate: _locate, ...rest } = pipeline;
  const ws = workspaceOf(pipeline);
  return {
    format: FORMAT,
    build: buildId(),
    file: pipeline.file,
    deps,
    pipeline: { ...rest, tasks: [...tasks.values()] },
    ...(ws ? { workspace: { packageManager: ws.packageManager, packages: [...ws.packages.values()] } } : {}),
  };
}

/** Whether the path of `dep` is as the snapshot saw it. */
function unchanged([p, record, folders]: Dep): boolean {
  const now = statRecord(p);
  if (folders === undefined) return now === record;
  // The same record: the same entries (a folder's mtime moves with every entry added or removed).
  if (record !== '' && now === record) return true;
  return isFolder(now) && foldersIn(p) === folders;
}

/** Whether a stat record is a folder's (mode S_IFDIR). */
function isFolder(record: string): boolean {
  const mode = record.split(' ', 5)[4];
  return mode !== undefined && (Number.parseInt(mode, 16) & 0o170000) === 0o040000;
}

/** The folders in folder `p`, sorted and joined with '/'; undefined when it cannot be listed. */
function foldersIn(p: string): string | undefined {
  try {
    return readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !WORKSPACE_SKIP.has(d.name))
      .map((d) => d.name)
      .sort()
      .join('/');
  } catch {
    return undefined;
  }
}
