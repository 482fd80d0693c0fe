import { lstat, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { DEPLOY_PROTOCOL } from '../protocol.js';
import { loadZstd } from '../zstd.js';
import { Agent } from './agent.js';
import { PRECHECK_FRESH_MS, precheckedVerdicts } from './twins.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;
const release = (id: string) => path.join(rig.root, 'agent', 'releases', id);

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-twins-', token: TOKEN });
});
afterEach(() => rig.close());

const deploy = (version: string, files: Record<string, string>) => rig.deploy(version, files);

const FILES = { 'index.html': 'one', 'lib/a.js': 'a'.repeat(5000) };

describe('twin releases', () => {
  it('makes an unchanged redeploy a twin of the kept release: no new folder, yet its own release', async () => {
    const v1 = await deploy('v1', FILES);
    const v2 = await deploy('v2', FILES);
    expect(v2.staged.chunksFetched).toBe(0);
    expect(v2.staged.filesCopied).toBe(2);
    // One tree on disk, reached under both names.
    expect(await readlink(release(v2.release))).toBe(v1.release);
    expect(await readFile(path.join(release(v2.release), 'lib/a.js'), 'utf8')).toBe(FILES['lib/a.js']);
    // Activation, history and rollback see two releases.
    expect(v2.previous).toBe(v1.release);
    expect(await readlink(path.join(rig.root, 'agent', 'current'))).toBe(`releases/${v2.release}`);
    const status = await rig.client.status();
    expect(status.ok && status.value.releases.map((r) => r.version).sort()).toEqual(['v1', 'v2']);
    const back = await rig.client.rollback();
    expect(back.ok && [back.value.previous, back.value.current]).toEqual([v2.release, v1.release]);
    expect(await readFile(path.join(rig.root, 'agent', 'current', 'index.html'), 'utf8')).toBe('one');
    // An agent opened again on the folder knows the twin.
    const again = await Agent.open({ dir: path.join(rig.root, 'agent'), token: TOKEN });
    expect(again.manifestOf(v2.release)?.version).toBe('v2');
    await again.shutdown();
  });

  it("writes a twin's stats and manifest in place, leaving no temporary file beside them", async () => {
    const v1 = await deploy('v1', FILES);
    const v2 = await deploy('v2', FILES);
    const manifests = path.join(rig.root, 'agent', 'manifests');
    const names = (await readdir(manifests)).sort();
    expect(names).toEqual(
      [`${v1.release}.json`, `${v1.release}.stat`, `${v2.release}.json`, `${v2.release}.stat`].sort(),
    );
    // The twin's stats are the shared folder's, as assembled; its manifest is its own.
    expect(await readFile(path.join(manifests, `${v2.release}.stat`), 'utf8')).toBe(
      await readFile(path.join(manifests, `${v1.release}.stat`), 'utf8'),
    );
    const m = JSON.parse(await readFile(path.join(manifests, `${v2.release}.json`), 'utf8'));
    expect(m.version).toBe('v2');
    // A second name for the same file, not a copy.
    const [a, b] = await Promise.all([v1, v2].map((v) => lstat(path.join(manifests, `${v.release}.stat`))));
    expect(b!.ino).toBe(a!.ino);
  });

  it('discards at startup a twin whose folder landed without its manifest (a crash before the syncs)', async () => {
    const v1 = await deploy('v1', FILES);
    const v2 = await deploy('v2', FILES);
    // Activated after v2 was staged, as anything is after a twin's syncs.
    const v3 = await deploy('v3', { ...FILES, 'index.html': 'three' });
    await rig.client.status();
    const manifests = path.join(rig.root, 'agent', 'manifests');
    // The twin's manifest name lost, its symlink kept: what a crash before the folders' syncs may leave.
    await rm(path.join(manifests, `${v2.release}.json`));
    const again = await Agent.open({ dir: path.join(rig.root, 'agent'), token: TOKEN });
    try {
      expect(again.manifestOf(v2.release)).toBeUndefined();
      expect(again.manifestOf(v1.release)?.version).toBe('v1');
      expect((await readdir(path.join(rig.root, 'agent', 'releases'))).sort()).toEqual(
        [v1.release, v3.release].sort(),
      );
      expect(await readFile(path.join(release(v1.release), 'lib/a.js'), 'utf8')).toBe(FILES['lib/a.js']);
    } finally {
      await again.shutdown();
    }
  });

  it("prunes a twin by unlinking its symlink alone: the shared folder and the owner's stats stay", async () => {
    const v1 = await deploy('v1', FILES);
    const v2 = await deploy('v2', FILES);
    const v3 = await deploy('v3', FILES);
    const v4 = await deploy('v4', FILES);
    // keep 2: v4 and v3 are kept, v2 goes; v1's folder stays, shared by both.
    await rig.client.status();
    const releases = (await readdir(path.join(rig.root, 'agent', 'releases'))).sort();
    expect(releases).toEqual([v1.release, v3.release, v4.release].sort());
    expect(await readlink(release(v3.release))).toBe(v1.release);
    expect(await readFile(path.join(release(v3.release), 'lib/a.js'), 'utf8')).toBe(FILES['lib/a.js']);
    // No removal of a folder went through the trash.
    expect(await readdir(path.join(rig.root, 'agent', 'trash')).catch(() => [])).toEqual([]);
    const manifests = path.join(rig.root, 'agent', 'manifests');
    expect((await readdir(manifests)).filter((n) => n.startsWith(v2.release))).toEqual([]);
    expect(await readFile(path.join(manifests, `${v1.release}.stat`), 'utf8')).toBe(
      await readFile(path.join(manifests, `${v3.release}.stat`), 'utf8'),
    );
  });

  it('keeps the folder a kept twin shares, and removes both once neither is kept', async () => {
    const v1 = await deploy('v1', FILES);
    const v2 = await deploy('v2', FILES);
    const v3 = await deploy('v3', { ...FILES, 'index.html': 'three' });
    // keep 2: v3 and v2 are kept; v1's folder stays because v2 is its twin. (The pruning follows
    // the answer to an activation; status answers once it is done.)
    await rig.client.status();
    expect((await lstat(release(v1.release))).isDirectory()).toBe(true);
    expect(await readFile(path.join(release(v2.release), 'index.html'), 'utf8')).toBe('one');
    const v4 = await deploy('v4', { ...FILES, 'index.html': 'four' });
    await rig.client.status();
    expect((await readdir(path.join(rig.root, 'agent', 'releases'))).sort()).toEqual(
      [v3.release, v4.release].sort(),
    );
  });

  it('builds a fresh folder when the app wrote into the kept release', async () => {
    const v1 = await deploy('v1', FILES);
    await writeFile(path.join(release(v1.release), 'cache.tmp'), 'written by the app');
    const v2 = await deploy('v2', FILES);
    expect((await lstat(release(v2.release))).isDirectory()).toBe(true);
    expect((await readdir(release(v2.release))).sort()).toEqual(['index.html', 'lib']);

    // A same-size edit moves the file's mtime: not a twin either.
    const a = path.join(release(v2.release), 'lib/a.js');
    await writeFile(a, 'b'.repeat(5000));
    const v3 = await deploy('v3', FILES);
    expect((await lstat(release(v3.release))).isDirectory()).toBe(true);
    expect(await readFile(path.join(release(v3.release), 'lib/a.js'), 'utf8')).toBe(FILES['lib/a.js']);
  });
});

describe('the twin check taken ahead (POST /v1/twin-check)', () => {
  afterEach(() => vi.useRealTimers());

  const isFolder = async (id: string) => (await lstat(release(id))).isDirectory();

  it('is answered before it runs, and is false on an agent without a current release', async () => {
    const r = await rig.client.twinCheck();
    expect(r.ok && r.value).toEqual({
      checking: true,
      protocol: DEPLOY_PROTOCOL,
      releases: 0,
      streamParts: true,
      // A zstd body on the streamed stage where zstd loads here (stream-feed.ts).
      streamZstd: loadZstd() !== undefined,
    });
    expect(await rig.agent.precheckTwin()).toBe(false);
  });

  it("stands in for the stage request's own check once: the next stage checks again", async () => {
    const v1 = await deploy('v1', FILES);
    expect(await rig.agent.precheckTwin()).toBe(true);
    // Written after the verdict: the stage request takes the verdict as it stands (the folder was
    // as assembled when checked), and the verdict is used up.
    await writeFile(path.join(release(v1.release), 'late.log'), 'written by the app');
    const v2 = await deploy('v2', FILES);
    expect(await readlink(release(v2.release))).toBe(v1.release);
    const v3 = await deploy('v3', FILES);
    expect(await isFolder(v3.release)).toBe(true);
    expect((await readdir(release(v3.release))).sort()).toEqual(['index.html', 'lib']);
  });

  it('is not used once older than PRECHECK_FRESH_MS', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const v1 = await deploy('v1', FILES);
    expect(await rig.agent.precheckTwin()).toBe(true);
    vi.setSystemTime(Date.now() + PRECHECK_FRESH_MS + 1000);
    await writeFile(path.join(release(v1.release), 'late.log'), 'written by the app');
    const v2 = await deploy('v2', FILES);
    expect(await isFolder(v2.release)).toBe(true);
  });

  it('does not trust a verdict that found the folder touched: the stage request checks itself', async () => {
    const v1 = await deploy('v1', FILES);
    const extra = path.join(release(v1.release), 'tmp.log');
    await writeFile(extra, 'for a moment');
    expect(await rig.agent.precheckTwin()).toBe(false);
    await rm(extra);
    const v2 = await deploy('v2', FILES);
    expect(await readlink(release(v2.release))).toBe(v1.release);
  });

  it('lists again a folder whose names changed since a check counted them (its ctime moved)', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const v1 = await deploy('v1', FILES);
    // The folders' ctimes well before the checks: their counts are kept from the first.
    vi.setSystemTime(Date.now() + 10_000);
    expect(await rig.agent.precheckTwin()).toBe(true);
    expect(await rig.agent.precheckTwin()).toBe(true);
    await writeFile(path.join(release(v1.release), 'lib', 'late.log'), 'written by the app');
    expect(await rig.agent.precheckTwin()).toBe(false);
    await rm(path.join(release(v1.release), 'lib', 'late.log'));
    // Put back as it was: the names are the manifest's again, and listed to find that out.
    expect(await rig.agent.precheckTwin()).toBe(true);
    await writeFile(path.join(release(v1.release), 'late.log'), 'in the release folder itself');
    expect(await rig.agent.precheckTwin()).toBe(false);
  });

  it("holds no stale verdict: an edit, whose stage takes none, leaves its release's behind only while fresh", async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    await deploy('v1', FILES);
    expect(await rig.agent.precheckTwin()).toBe(true);
    // An edit: staged without a twin check's verdict taken, which stays.
    await deploy('v2', { ...FILES, 'index.html': 'two' });
    expect(precheckedVerdicts(rig.agent.layout)).toBe(1);
    vi.setSystemTime(Date.now() + PRECHECK_FRESH_MS + 1);
    // The next deploy's check drops it: v1's verdict (and its stats) no longer held.
    expect(await rig.agent.precheckTwin()).toBe(true);
    expect(precheckedVerdicts(rig.agent.layout)).toBe(1);
    await deploy('v3', { ...FILES, 'index.html': 'three' });
    vi.setSystemTime(Date.now() + PRECHECK_FRESH_MS + 1);
    expect(await rig.agent.precheckTwin()).toBe(true);
    expect(precheckedVerdicts(rig.agent.layout)).toBe(1);
  });

  it('checks the folder a current twin shares', async () => {
    const v1 = await deploy('v1', FILES);
    const v2 = await deploy('v2', FILES);
    expect(await readlink(release(v2.release))).toBe(v1.release);
    await writeFile(path.join(release(v1.release), 'late.log'), 'written by the app');
    expect(await rig.agent.precheckTwin()).toBe(false);
  });
});
