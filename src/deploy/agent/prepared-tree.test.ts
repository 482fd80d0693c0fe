import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { openFilesUnder } from '../../../test/helpers/open-files.js';
import { readArtifact } from '../artifact.js';
import { releaseIdOf } from '../manifest.js';
import { Agent } from './agent.js';
import { checkOutline, outlineOf } from './prepared-tree.js';

const TOKEN = 'prepared-tree-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-prepared-', token: TOKEN });
});
afterEach(() => rig.close());

const FILES = {
  'index.html': 'home',
  'static/js/app.js': 'a'.repeat(3000),
  'static/js/vendor.js': 'v'.repeat(9000),
  'static/media/logo.png': 'png',
  'empty.txt': '',
};

/**
 * Descriptors this process holds on files of the agent's folder (the rig's agent runs here): the
 * prepared tree keeps its files open for the staging folder, which must close every one.
 */
const openInAgent = () => openFilesUnder(path.join(rig.root, 'agent'));
const noneOpenInAgent = async () => {
  for (let i = 0; i < 200 && (await openInAgent()).length; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await openInAgent()).toEqual([]);
};

const staged = (release: string, p: string) => path.join(rig.root, 'agent', 'releases', release, p);
const stagingLeft = async () => (await readdir(path.join(rig.root, 'agent', 'staging'))).sort();

describe('prepared tree', () => {
  it('hands the deployer the outline of folders and files in manifest order, before reading them', async () => {
    const v1 = await rig.artifact('v1', FILES);
    // A symlink is no part of the outline (made with the release, not ahead of it).
    await symlink('app.js', path.join(v1.root, 'static', 'js', 'latest.js'));
    let heard: string[] | undefined;
    const again = await readArtifact(v1.root, 'v1', undefined, {
      onOutline: (o) => {
        heard = o();
      },
    });
    expect(again.ok).toBe(true);
    expect(again.ok && again.value.manifest.entries.some((e) => e.type === 'symlink')).toBe(true);
    expect(heard).toEqual(outlineOf(v1.manifest));
    expect(heard).toContain('static/js/');
    expect(heard?.indexOf('static/')).toBeLessThan(heard?.indexOf('static/js/app.js') ?? -1);
  });

  it('creates a first release in the tree made from its outline, byte-identical', async () => {
    const v1 = await rig.artifact('v1', FILES);
    const prepared = await rig.client.prepare(outlineOf(v1.manifest));
    expect(prepared.ok && prepared.value.prepared).toBe(true);
    // The inodes created ahead: the staged release must be written into these very files.
    const [tree] = (await stagingLeft()).filter((n) => n.startsWith('.prepared-'));
    expect(tree).toBeDefined();
    const inodeAhead = async (p: string) => {
      for (let i = 0; i < 200; i++) {
        const st = await stat(path.join(rig.root, 'agent', 'staging', tree!, p)).catch(() => undefined);
        if (st) return st.ino;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`${p} never appeared in the prepared tree`);
    };
    const ino = await inodeAhead('static/js/vendor.js');
    const s = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s.ok, s.ok ? '' : s.error).toBe(true);
    expect((await stat(staged(v1.release, 'static/js/vendor.js'))).ino).toBe(ino);
    for (const [p, text] of Object.entries(FILES))
      expect(await readFile(staged(v1.release, p), 'utf8')).toBe(text);
    expect(await stagingLeft()).toEqual([]);
    // Written through the descriptors the tree kept open, every one closed since.
    await noneOpenInAgent();
  });

  it("gives a prepared first release's files their modes, and links them into the next release", async () => {
    const dir = path.join(rig.root, 'modes');
    await mkdir(path.join(dir, 'bin'), { recursive: true });
    await writeFile(path.join(dir, 'bin/run'), '#!/bin/sh\n');
    await writeFile(path.join(dir, 'README'), 'read me');
    await chmod(path.join(dir, 'bin/run'), 0o755);
    await chmod(path.join(dir, 'README'), 0o444);
    const chunks = async (v: string) => {
      const a = await readArtifact(dir, v);
      if (!a.ok) throw new Error(a.error);
      return { ...a.value, release: releaseIdOf(a.value.manifest), origin: await rig.serve(a.value.chunks) };
    };
    const v1 = await chunks('v1');
    expect((await rig.client.prepare(outlineOf(v1.manifest))).ok).toBe(true);
    expect(
      (await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    expect((await stat(staged(v1.release, 'bin/run'))).mode & 0o777).toBe(0o755);
    expect((await stat(staged(v1.release, 'README'))).mode & 0o777).toBe(0o444);
    // Linked next time: the size and mtime recorded at assembly are the files' own.
    const v2 = await chunks('v2');
    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok && s2.value.filesCopied).toBe(2);
  });

  it('throws the tree away when the manifest that comes is not the outline', async () => {
    const v1 = await rig.artifact('v1', FILES);
    const outline = outlineOf(v1.manifest);
    const r = await rig.client.prepare([...outline, 'stray.txt']);
    expect(r.ok && r.value.prepared).toBe(true);
    const s = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s.ok, s.ok ? '' : s.error).toBe(true);
    const files = await readdir(staged(v1.release, '.'));
    expect(files).not.toContain('stray.txt');
    for (let i = 0; i < 200 && (await stagingLeft()).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await stagingLeft()).toEqual([]);
    // The discarded tree's open files closed too.
    await noneOpenInAgent();
  });

  it('is declined by a host that has a release (its files will be linked, not created)', async () => {
    const v1 = await rig.artifact('v1', FILES);
    expect(
      (await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    const r = await rig.client.prepare(outlineOf(v1.manifest));
    expect(r.ok && r.value.prepared).toBe(false);
    expect(await stagingLeft()).toEqual([]);
  });

  it('leaves no prepared tree behind an agent that stopped before its release came', async () => {
    const v1 = await rig.artifact('v1', FILES);
    expect((await rig.client.prepare(outlineOf(v1.manifest))).ok).toBe(true);
    expect((await stagingLeft()).some((n) => n.startsWith('.prepared-'))).toBe(true);
    // As after a crash: a new agent on the same folder.
    const again = await Agent.open({ dir: path.join(rig.root, 'agent'), token: TOKEN });
    expect(await stagingLeft()).toEqual([]);
    await again.shutdown();
    // The first agent stopping closes the files its tree kept open.
    await rig.agent.shutdown();
    await noneOpenInAgent();
  });

  it('closes the files of a tree whose release does not come, and stages it all the same', async () => {
    // A rig of its own whose trees keep their files open 1 s (60 s by default).
    const slow = await startAgentRig({
      prefix: 'slipway-prepared-idle-',
      token: TOKEN,
      preparedOpenMs: 1000,
    });
    try {
      const v1 = await slow.artifact('v1', FILES);
      expect((await slow.client.prepare(outlineOf(v1.manifest))).ok).toBe(true);
      const inSlow = async () => openFilesUnder(path.join(slow.root, 'agent'));
      // Held while the release may still come, then closed without it.
      for (let i = 0; i < 200 && (await inSlow()).length === 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect((await inSlow()).length).toBeGreaterThan(0);
      for (let i = 0; i < 500 && (await inSlow()).length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await inSlow()).toEqual([]);
      const origin = await slow.serve(v1.chunks);
      const s = await slow.client.stage({ release: v1.release, manifest: v1.manifest, sources: [origin] });
      expect(s.ok, s.ok ? '' : s.error).toBe(true);
      expect(
        await readFile(path.join(slow.root, 'agent', 'releases', v1.release, 'static/js/vendor.js'), 'utf8'),
      ).toBe(FILES['static/js/vendor.js']);
      expect(await inSlow()).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('refuses an outline that would leave the tree or skips a parent folder', async () => {
    expect(checkOutline(['a/', 'a/b.txt']).ok).toBe(true);
    expect(checkOutline(['../x']).ok).toBe(false);
    expect(checkOutline(['/etc/passwd']).ok).toBe(false);
    expect(checkOutline(['a/b.txt']).ok).toBe(false);
    expect(checkOutline(['a/', 'a/']).ok).toBe(false);
    const r = await rig.client.prepare(['x/', '../escape']);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/400.*outline refused/);
  });
});
