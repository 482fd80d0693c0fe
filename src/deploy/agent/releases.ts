/**
 * Kept releases on disk: loading them (and removing what a crash left half-written), switching
 * `current` atomically (a fresh symlink renamed over it), and removing old ones. Assembling a
 * new release is assembly.ts.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath } from '../../state/atomic-write.js';
import { type Manifest, validateManifest } from '../manifest.js';
import { isReleaseId, type ReleaseId } from '../types.js';
import type { Layout } from './layout.js';
import { forgetAssembled, statsFile } from './release-stats.js';

/** Points `current` at a release (or removes it) without a moment where it is missing. */
export async function switchCurrent(layout: Layout, id: ReleaseId | null): Promise<void> {
  if (id === null) {
    await rm(layout.current, { force: true });
    return;
  }
  const tmp = `${layout.current}.tmp-${randomBytes(4).toString('hex')}`;
  await symlink(path.join('releases', id), tmp);
  await rename(tmp, layout.current);
  await fsyncPath(layout.root);
}

/** The release `current` points at, if any. */
export async function currentRelease(layout: Layout): Promise<ReleaseId | null> {
  const target = await readlink(layout.current).catch(() => undefined);
  if (!target) return null;
  const id = path.basename(target);
  return isReleaseId(id) ? id : null;
}

/** Kept releases with their manifests; removes half-written ones left by a crash. */
export async function loadReleases(layout: Layout): Promise<Map<ReleaseId, Manifest>> {
  await emptyTrash(layout);
  await mkdir(layout.releases, { recursive: true });
  await mkdir(layout.manifests, { recursive: true });
  const out = new Map<ReleaseId, Manifest>();
  const dirs = new Set(await readdir(layout.releases));
  for (const name of dirs) {
    if (name.startsWith('.tmp-'))
      await rm(path.join(layout.releases, name), { recursive: true, force: true });
  }
  for (const file of await readdir(layout.manifests)) {
    if (!file.endsWith('.json')) continue;
    const id = file.replace(/\.json$/, '');
    const parsed =
      isReleaseId(id) && dirs.has(id) ? validateManifest(await readJsonFile(layout.manifest(id))) : null;
    if (parsed?.ok) out.set(id as ReleaseId, parsed.value);
    else await rm(path.join(layout.manifests, file), { force: true });
  }
  for (const name of dirs) {
    if (!name.startsWith('.tmp-') && !out.has(name as ReleaseId)) {
      await rm(path.join(layout.releases, name), { recursive: true, force: true });
    }
  }
  return out;
}

async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Deletes a release and its manifest. The folder is renamed into `trash/` at once (so the
 * release is gone in one step) and emptied in the background by `rm -rf` in a child process
 * (Node's own recursive rm of 20,000 files takes the agent's thread for a few hundred
 * milliseconds, delaying the activation that pruned it); whatever a crash leaves there is
 * emptied when the agent next opens.
 */
export async function removeRelease(layout: Layout, id: ReleaseId): Promise<void> {
  await rm(layout.manifest(id), { force: true });
  await rm(statsFile(layout, id), { force: true });
  forgetAssembled(layout, id);
  // A twin (twins.ts) is a symlink: unlinked in one step, with no `rm` process to start (a
  // spawn costs the agent's thread more than an unchanged redeploy's other pruning).
  if ((await lstat(layout.release(id)).catch(() => undefined))?.isSymbolicLink()) {
    await unlink(layout.release(id)).catch(() => {});
    return;
  }
  await mkdir(layout.trash, { recursive: true });
  const doomed = path.join(layout.trash, `${id}-${randomBytes(4).toString('hex')}`);
  const moved = await rename(layout.release(id), doomed).then(
    () => true,
    () => false,
  );
  if (!moved) await rm(layout.release(id), { recursive: true, force: true });
  else emptyLater(doomed);
}

/** Removes `dir` in a child process, or in-process where `rm` cannot be started. */
function emptyLater(dir: string): void {
  const fallback = () => void rm(dir, { recursive: true, force: true }).catch(() => {});
  try {
    const child = spawn('rm', ['-rf', '--', dir], { stdio: 'ignore' });
    child.on('error', fallback);
    child.unref();
  } catch {
    fallback();
  }
}

/** Empties `trash/` (releases whose removal a crash or shutdown cut short). */
async function emptyTrash(layout: Layout): Promise<void> {
  await rm(layout.trash, { recursive: true, force: true });
}
