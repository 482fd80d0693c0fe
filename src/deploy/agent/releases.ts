/**
 * Releases on disk: assembling `releases/<id>` from chunks into a temporary folder renamed into
 * place, switching `current` atomically (a fresh symlink renamed over it), and pruning old ones.
 * Durable: every file and folder of a release is fsynced before the rename and the parent folder
 * after it, so a power cut never leaves a release whose name exists but whose bytes do not.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import {
  chmod,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath, writeAtomic } from '../../state/atomic-write.js';
import { type Manifest, type ManifestEntry, validateManifest } from '../manifest.js';
import { type ChunkId, isReleaseId, type ReleaseId } from '../types.js';
import type { Layout } from './layout.js';

/** Size and mtime of each file of a release right after assembly: proof it was not edited since. */
export type FileStats = Record<string, [number, number]>;

/**
 * Writes every entry of a manifest under `releases/<id>`. A file identical to one of a kept,
 * untouched release is copied by the kernel (`copyFrom`); others are written from `chunk`.
 * Returns how many files were copied whole.
 */
export async function assembleRelease(opts: {
  layout: Layout;
  id: ReleaseId;
  manifest: Manifest;
  chunk: (id: ChunkId) => Promise<Buffer>;
  copyFrom?: (e: Extract<ManifestEntry, { type: 'file' }>) => Promise<string | undefined>;
  /** fsync files and folders (default true; false only for the benchmark's comparison). */
  durable?: boolean;
}): Promise<number> {
  let copied = 0;
  const { layout, id, manifest } = opts;
  const durable = opts.durable ?? true;
  await mkdir(layout.releases, { recursive: true });
  await mkdir(layout.manifests, { recursive: true });
  const tmp = path.join(layout.releases, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  const syncs = new SyncQueue();
  try {
    for (const e of manifest.entries) {
      // Paths were validated (no "..", not absolute, parents are real folders); resolve and
      // check again anyway so a bug in validation cannot write outside the release.
      const dest = path.resolve(tmp, e.path);
      if (!dest.startsWith(tmp + path.sep)) throw new Error(`refused path ${e.path}`);
      if (e.type === 'dir') await mkdir(dest, { mode: 0o755 });
      else if (e.type === 'symlink') await symlink(e.target, dest);
      else {
        const src = await opts.copyFrom?.(e);
        const flags = constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL;
        if (
          src &&
          (await copyFile(src, dest, flags).then(
            () => true,
            () => false,
          ))
        ) {
          copied++;
          await chmod(dest, e.mode & 0o777);
          if (durable) await syncs.add(await open(dest, 'r'));
          continue;
        }
        const fh = await open(dest, 'wx', 0o600);
        let handedOver = false;
        try {
          let written = 0;
          for (const [chunkId, size] of e.chunks) {
            const data = await opts.chunk(chunkId);
            // The chunk's hash was checked when it was read; its length is the manifest's claim,
            // and a file must come out exactly as long as the manifest says.
            if (data.length !== size)
              throw new Error(
                `chunk ${chunkId.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
              );
            await fh.write(data, 0, data.length);
            written += data.length;
          }
          if (written !== e.size)
            throw new Error(`${e.path} came out ${written} bytes, the manifest says ${e.size}`);
          await fh.chmod(e.mode & 0o777);
          if (durable) {
            await syncs.add(fh);
            handedOver = true;
          }
        } finally {
          if (!handedOver) await fh.close();
        }
      }
    }
    await syncs.drain();
    const stats: FileStats = {};
    for (const e of manifest.entries) {
      if (e.type !== 'file') continue;
      const st = await stat(path.join(tmp, e.path));
      stats[e.path] = [st.size, st.mtimeMs];
    }
    await writeAtomic(statsFile(layout, id), JSON.stringify(stats), { durable });
    for (const e of manifest.entries) {
      if (e.type === 'dir') await chmod(path.join(tmp, e.path), e.mode & 0o777);
    }
    if (durable) {
      // Folders deepest first, then the release folder itself: every name inside is on disk
      // before the release's own name appears, and long before `current` points at it.
      const dirs = manifest.entries.filter((e) => e.type === 'dir').map((e) => path.join(tmp, e.path));
      for (const d of dirs.reverse()) await fsyncPath(d);
      await fsyncPath(tmp);
    }
    // The manifest lands first: a release folder without one is an interrupted assembly.
    await writeAtomic(layout.manifest(id), JSON.stringify(manifest), { durable });
    await rm(layout.release(id), { recursive: true, force: true });
    await rename(tmp, layout.release(id));
    if (durable) await fsyncPath(layout.releases);
    return copied;
  } catch (e) {
    await syncs.drain().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * fsync-then-close of written files, several at once: the next file is written while earlier
 * ones sync, and the filesystem's journal commits concurrent fsyncs together.
 */
class SyncQueue {
  readonly #pending = new Set<Promise<void>>();
  #failure: unknown;

  constructor(readonly width = 16) {}

  /** Takes over `fh` (syncs and closes it); waits while `width` syncs are in flight. */
  async add(fh: FileHandle): Promise<void> {
    const p: Promise<void> = fh
      .sync()
      .catch((e: unknown) => {
        this.#failure ??= e;
      })
      .finally(() => fh.close())
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
    if (this.#pending.size >= this.width) await Promise.race(this.#pending);
  }

  /** Waits for every sync; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.#pending);
    if (this.#failure !== undefined) throw this.#failure;
  }
}

function statsFile(layout: Layout, id: ReleaseId): string {
  return path.join(layout.manifests, `${id}.stat`);
}

/** The file stats recorded when a release was assembled. */
export async function readStats(layout: Layout, id: ReleaseId): Promise<FileStats | undefined> {
  try {
    return JSON.parse(await readFile(statsFile(layout, id), 'utf8')) as FileStats;
  } catch {
    return undefined;
  }
}

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

/** Deletes a release and its manifest. */
export async function removeRelease(layout: Layout, id: ReleaseId): Promise<void> {
  await rm(layout.manifest(id), { force: true });
  await rm(statsFile(layout, id), { force: true });
  await rm(layout.release(id), { recursive: true, force: true });
}
