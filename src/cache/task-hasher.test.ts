import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { parsePipeline } from '../config/load.js';
import { blobId } from './fingerprints.js';
import { hashManifest } from './hash-manifest.js';
import { TaskHasher } from './task-hasher.js';

const YML = `version: 1
env: { CI: "1" }
tasks:
  lib:
    run: echo lib
    cwd: lib
    outputs: ["dist/**"]
  app:
    run: echo app
    cwd: app
    needs: [lib]
    inputs: ["src/**", "package.json", "!src/**/*.test.ts"]
    env: { MODE: prod }
    secrets: [TOKEN]
`;

const tmp = tempDirs();

function repo(files: Record<string, string>, git = true): string {
  const dir = tmp('slipway-hash-');
  for (const [p, c] of Object.entries({ 'slipway.yml': YML, ...files })) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), c);
  }
  if (git) {
    const g = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'pipe' });
    g('init', '-q');
    g('add', '-A');
    g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  }
  return dir;
}

const FILES = {
  '.gitignore': '.slipway\nlib/dist\n*.log\n',
  'lib/index.js': 'export const x = 1;\n',
  'app/src/main.ts': 'console.log(1)\n',
  'app/src/main.test.ts': 'test\n',
  'app/package.json': '{}\n',
  'app/README.md': 'not an input\n',
};

async function hashes(dir: string) {
  const p = parsePipeline('slipway.yml', path.join(dir, 'slipway.yml'), YML);
  const h = new TaskHasher(p, path.join(dir, '.slipway', 'cache'));
  const all = await h.hashAll(['app', 'lib']);
  const get = (id: string) => {
    const r = all.get(id);
    if (!r?.ok) throw new Error(r ? r.error : 'missing');
    return r.value;
  };
  return { app: get('app'), lib: get('lib') };
}

describe('task hashing', () => {
  it('uses globs, negations and default inputs; ids equal git object ids', async () => {
    const dir = repo(FILES);
    const { app, lib } = await hashes(dir);
    expect(app.manifest.inputs.map(([p]) => p)).toEqual(['package.json', 'src/main.ts']);
    expect(lib.manifest.inputs.map(([p]) => p)).toEqual(['index.js']);
    const gitId = execFileSync('git', ['hash-object', 'app/src/main.ts'], {
      cwd: dir,
      encoding: 'utf8',
    }).trim();
    expect(app.manifest.inputs[1]![1]).toBe(gitId);
    expect(app.manifest.deps).toEqual([['lib', lib.hash]]);
    expect(app.manifest.secrets).toEqual(['TOKEN']);
  });

  it('is identical on another clone and without git', async () => {
    const a = repo(FILES);
    const b = tmp('slipway-clone-');
    execFileSync('git', ['clone', '-q', a, b]);
    const c = repo(FILES, false);
    const [ha, hb, hc] = await Promise.all([hashes(a), hashes(b), hashes(c)]);
    expect(hb.app.hash).toBe(ha.app.hash);
    expect(hc.app.hash).toBe(ha.app.hash);
  });

  it('changes with a dirty file, an untracked one, and its dependencies; not with outputs or ignored files', async () => {
    const dir = repo(FILES);
    const base = await hashes(dir);
    writeFileSync(path.join(dir, 'lib/dist.js'), 'x'); // untracked, not ignored: an input of lib
    writeFileSync(path.join(dir, 'lib/debug.log'), 'x'); // ignored
    mkdirSync(path.join(dir, 'lib/dist'));
    writeFileSync(path.join(dir, 'lib/dist/out.js'), 'x'); // ignored and an output
    const withNew = await hashes(dir);
    expect(withNew.lib.manifest.inputs.map(([p]) => p)).toEqual(['dist.js', 'index.js']);
    expect(withNew.lib.hash).not.toBe(base.lib.hash);
    expect(withNew.app.hash).not.toBe(base.app.hash); // through the dependency hash

    writeFileSync(path.join(dir, 'app/src/main.ts'), 'console.log(2)\n');
    const dirty = await hashes(dir);
    expect(dirty.app.manifest.inputs[1]![1]).toBe(blobId('sha1', 'console.log(2)\n'));
    expect(dirty.app.hash).not.toBe(withNew.app.hash);
    expect(dirty.lib.hash).toBe(withNew.lib.hash);

    writeFileSync(path.join(dir, 'app/README.md'), 'still not an input\n');
    expect((await hashes(dir)).app.hash).toBe(dirty.app.hash);
  });

  it('changes with the command, env, outputs and platform fields', async () => {
    const { app } = await hashes(repo(FILES));
    const m = app.manifest;
    const variants = [
      { ...m, command: 'echo other' },
      { ...m, env: { MODE: 'dev' } },
      { ...m, secrets: ['OTHER'] },
      { ...m, outputs: ['out/**'] },
      { ...m, globalEnv: { CI: '0' } },
      { ...m, platform: 'plan9-mips' },
      { ...m, cwd: 'elsewhere' },
    ];
    const all = new Set([app.hash, ...variants.map(hashManifest)]);
    expect(all.size).toBe(variants.length + 1);
    // Order of env keys and deps does not matter.
    expect(hashManifest({ ...m, env: { MODE: 'prod' } })).toBe(app.hash);
  });

  it('copies of a repository folder hash the same wherever they live', async () => {
    const a = repo(FILES, false);
    const b = path.join(tmp('slipway-copy-'), 'nested');
    cpSync(a, b, { recursive: true });
    expect((await hashes(b)).app.hash).toBe((await hashes(a)).app.hash);
  });
});
