/**
 * Hostile release manifests sent to a real agent over its HTTP API (127.0.0.1, port 0): symlink
 * chains, absolute and `..` paths and targets, writes through a link, loops. Each is refused with
 * 400 before anything is staged; no release folder appears, nothing beside the agent's folder
 * changes, and no symlink of any release resolves (per the kernel) outside that release. The
 * path and symlink rules only: body and chunk validation belong to the agent's own tests.
 */

import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArtifact } from '../../src/deploy/artifact.js';
import { DEFAULT_CHUNKING } from '../../src/deploy/fastcdc.js';
import { type Manifest, type ManifestEntry, releaseIdOf } from '../../src/deploy/manifest.js';
import { snapshotTree } from '../cache/fixture.js';
import { type AgentRig, startAgentRig } from '../helpers/agent-rig.js';

const TOKEN = 'hostile-manifest-token-0123456789';
let root: string;
let url: string;
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-hostile-agent-', token: TOKEN });
  ({ root, url } = rig);
  await mkdir(path.join(root, 'sentinel/sub'), { recursive: true });
  await writeFile(path.join(root, 'sentinel/keep.txt'), 'keep\n');
  await writeFile(path.join(root, 'sentinel/sub/keep.txt'), 'keep\n');
});

afterEach(() => rig.close());

const manifest = (entries: ManifestEntry[]): Manifest => ({
  format: 1,
  version: 'hostile',
  chunking: DEFAULT_CHUNKING,
  entries,
});

async function post(route: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const stage = (m: Manifest, sources: unknown[] = []) =>
  post('/v1/stage', { release: releaseIdOf(m), manifest: m, sources });

/** Symlinks under a release folder that the kernel resolves outside it. */
function escapingLinks(release: string): string[] {
  const top = realpathSync.native(release);
  const out: string[] = [];
  const visit = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const p = path.join(abs, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        try {
          const real = realpathSync.native(p);
          if (real !== top && !real.startsWith(top + path.sep))
            out.push(`${path.relative(release, p)} -> ${real}`);
        } catch {
          // dangling
        }
      } else if (st.isDirectory()) visit(p);
    }
  };
  visit(release);
  return out;
}

async function releases(): Promise<string[]> {
  return (await readdir(path.join(root, 'agent/releases')).catch(() => [] as string[])).filter(
    (n) => !n.startsWith('.tmp-'),
  );
}

const dir = (p: string): ManifestEntry => ({ type: 'dir', path: p, mode: 0o755 });
const link = (p: string, target: string): ManifestEntry => ({ type: 'symlink', path: p, target });
const file = (p: string): ManifestEntry => ({
  type: 'file',
  path: p,
  mode: 0o644,
  size: 1,
  chunks: [['a'.repeat(64) as never, 1]],
});

describe('hostile manifests sent to a real agent', () => {
  it.each<[string, ManifestEntry[], RegExp]>([
    [
      'a symlink chain (out/dot -> ., out/esc -> dot/../..)',
      [dir('out'), link('out/dot', '.'), link('out/esc', 'dot/../..')],
      /"out\/esc".*points outside the release/,
    ],
    [
      'a chain climbing to / (e6 -> d/d/d/d/d/d/../../../../../..)',
      [link('d', '.'), link('e6', 'd/d/d/d/d/d/../../../../../..')],
      /"e6".*points outside the release/,
    ],
    [
      'a chain through a link listed after it',
      [link('a', 'z/z/../..'), link('z', '.')],
      /"a".*points outside the release/,
    ],
    [
      'a chain through two links',
      [dir('x'), link('x/p', '../y/q'), dir('y'), link('y/q', '..'), link('esc', 'x/p/..')],
      /"esc".*points outside the release/,
    ],
    ['an absolute symlink target', [link('etc', '/etc')], /"etc".*absolute/],
    ['a ".." symlink target', [dir('lib'), link('lib/up', '../..')], /points outside the release/],
    ['a symlink loop', [link('a', 'b'), link('b', 'a')], /more than 40 links/],
    ['an absolute path', [file('/tmp/slipway-pwned')], /absolute path/],
    ['a ".." path', [file('../sentinel/pwned')], /climbs out/],
    ['a write through a symlink', [link('d', '.'), file('d/pwned')], /must come after its parent folder/],
  ])('refuses %s with 400 and stages nothing', async (_name, entries, why) => {
    const before = snapshotTree(path.join(root, 'sentinel'));
    const r = await stage(manifest(entries));
    expect(r.status, r.text).toBe(400);
    expect(JSON.parse(r.text).error).toMatch(why);
    expect(await releases()).toEqual([]);
    expect(snapshotTree(path.join(root, 'sentinel'))).toEqual(before);
    // And an activation of the refused release finds nothing to switch to.
    const act = await post('/v1/activate', { release: releaseIdOf(manifest(entries)) });
    expect(act.status).not.toBe(200);
  });

  it('stages links that chain inside the release, and they stay inside', async () => {
    const m = manifest([
      dir('lib'),
      link('lib/cur', '../v2'),
      dir('v2'),
      link('v2/self', '.'),
      link('latest', 'lib/cur/self/self'),
    ]);
    const r = await stage(m);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toMatch(/"type":"done"/);
    const act = await post('/v1/activate', { release: releaseIdOf(m) });
    expect(act.status, act.text).toBe(200);
    const release = path.join(root, 'agent/releases', releaseIdOf(m));
    expect(escapingLinks(release)).toEqual([]);
    expect(realpathSync.native(path.join(root, 'agent/current/latest'))).toBe(
      realpathSync.native(path.join(release, 'v2')),
    );
  });

  it('stages a setuid/setgid file without those bits', async () => {
    const art = path.join(root, 'art');
    await mkdir(art);
    await writeFile(path.join(art, 'tool'), '#!/bin/sh\necho hi\n');
    const built = await readArtifact(art, 'suid');
    if (!built.ok) throw new Error(built.error);
    const m = built.value.manifest;
    const entries = m.entries.map((e) => (e.type === 'file' ? { ...e, mode: 0o6755 } : e));
    const hostile = { ...m, entries };
    const origin = await rig.serve(built.value.chunks);
    const r = await stage(hostile, [origin]);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toMatch(/"type":"done"/);
    const release = path.join(root, 'agent/releases', releaseIdOf(hostile));
    expect(statSync(path.join(release, 'tool')).mode & 0o7777).toBe(0o755);
  });

  it('refuses to build a release from an artifact folder holding an escaping chain', async () => {
    const art = path.join(root, 'art');
    await mkdir(path.join(art, 'out'), { recursive: true });
    await symlink('.', path.join(art, 'out/dot'));
    await symlink('dot/../..', path.join(art, 'out/esc'));
    const built = await readArtifact(art, 'chain');
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error).toMatch(/"out\/esc".*points outside the artifact/);
  });
});
