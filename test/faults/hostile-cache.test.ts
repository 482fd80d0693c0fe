/**
 * Hostile cache entries, local and served by a fake Turborepo remote, met by the real CLI:
 * symlink chains, absolute paths, `..`, setuid bits, wrong sizes and hashes, bad signatures and
 * truncated bodies. Each is refused with a warning and a miss (the task runs again and the run
 * stays green), or, for setuid bits, restored without them; nothing is ever written outside the
 * task's folder: a sentinel folder beside it stays byte-identical, no planted target appears,
 * and every symlink left in the task's folder resolves (per the kernel) inside it.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactTag } from '../../src/cache/signature.js';
import { snapshotTree } from '../cache/fixture.js';
import { pipelineYaml, readSummary, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';
import { craftArchive, craftEntry, type Rec } from './craft.js';
import { type FakeRemote, startFakeRemote } from './fake-remote.js';

const TEAM = 'hostile-tests';
/** Where escapes would land: beside the task's folder, and one level above the workspace. */
const SENTINEL = 'sentinel';
const MARK = `slipway-pwned-${process.pid}`;

function tasks(outputs: string[] = ['out/**'], dir = 'out') {
  return {
    t: {
      // A leftover symlink in place of the output folder is the task's to remove, not to write through.
      run: `[ -L out ] && rm out; mkdir -p ${dir} && echo fresh > ${dir}/a.txt && echo ran >> ../ran.log`,
      cwd: 'pkg',
      inputs: ['src.txt'],
      outputs,
    },
  };
}

const made: Workspace[] = [];
let remote: FakeRemote;
/** The task's hash in a workspace as `fresh()` makes it (hashes do not depend on the location). */
let H = '';

function fresh(yaml = pipelineYaml(tasks())): Workspace {
  const ws = workspace(yaml);
  made.push(ws);
  ws.write('pkg/src.txt', 'src\n');
  ws.write(`${SENTINEL}/keep.txt`, 'keep\n');
  ws.write(`${SENTINEL}/sub/keep.txt`, 'keep\n');
  return ws;
}

function plantLocal(ws: Workspace, hash: string, bytes: Buffer): void {
  const file = ws.path('.slipway/cache/entries', hash.slice(0, 2), hash);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

const remoteEnv = (extra: Record<string, string> = {}) => ({
  SLIPWAY_REMOTE_CACHE_URL: remote.url,
  SLIPWAY_REMOTE_CACHE_TOKEN: 'hostile-token',
  SLIPWAY_REMOTE_CACHE_TEAM: TEAM,
  ...extra,
});

/** Everything outside the task's folder that a restore must never touch. */
function outside(ws: Workspace): { sentinel: Record<string, string>; top: string[]; above: boolean } {
  return {
    sentinel: snapshotTree(ws.path(SENTINEL)),
    top: readdirSync(ws.dir)
      .filter((n) => n !== 'ran.log' && n !== 'summary.json' && n !== '.slipway')
      .sort(),
    above: existsSync(path.join(ws.dir, '..', MARK)),
  };
}

/** Every symlink under `dir` that the kernel resolves to a place outside `dir`. */
function escapingLinks(dir: string): string[] {
  const root = realpathSync.native(dir);
  const out: string[] = [];
  const visit = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const p = path.join(abs, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync.native(p);
        } catch {
          continue; // dangling: every payload here aims at places that exist
        }
        if (real !== root && !real.startsWith(root + path.sep))
          out.push(`${path.relative(dir, p)} -> ${real}`);
      } else if (st.isDirectory()) visit(p);
    }
  };
  visit(dir);
  return out;
}

async function run(ws: Workspace, env?: Record<string, string>) {
  const r = await ws.run(['run', '--summary', 'summary.json'], { env });
  const output = r.stdout + r.stderr;
  expect(r.code, output).toBe(0);
  expect(output).not.toMatch(STACK_FRAME);
  const task = readSummary(ws).byId.get('t');
  return { output, cache: task?.cache, hash: task?.hash as string };
}

const ranTimes = (ws: Workspace) => (ws.exists('ran.log') ? ws.read('ran.log').split('\n').length - 1 : 0);

/** The run refused the entry: a warning, a miss, the task ran, nothing escaped. */
async function expectRefused(
  ws: Workspace,
  warning: RegExp,
  opts: { env?: Record<string, string>; runsBefore?: number } = {},
) {
  const before = outside(ws);
  const r = await run(ws, opts.env);
  expect(r.output).toMatch(warning);
  expect(r.cache).toBe('miss');
  expect(ranTimes(ws)).toBe((opts.runsBefore ?? 0) + 1);
  // Exactly what the task writes: nothing of the refused entry is left in its folder.
  expect(snapshotTree(ws.path('pkg/out'))).toEqual({ 'a.txt': expect.stringMatching(/^file /) });
  expect(ws.read('pkg/out/a.txt')).toBe('fresh\n');
  expect(outside(ws)).toEqual(before);
  expect(escapingLinks(ws.path('pkg'))).toEqual([]);
  return r;
}

/** Archives no restore may accept, each with the reason it must give. */
const HOSTILE: [string, Rec[], RegExp][] = [
  [
    'a symlink chain (out/dot -> ., out/esc -> dot/../..)',
    [
      { p: 'out/a.txt', t: 'f', m: 0o644, data: 'cached\n' },
      { p: 'out/dot', t: 'l', m: 0o777, l: '.' },
      { p: 'out/esc', t: 'l', m: 0o777, l: `dot/../../${SENTINEL}` },
    ],
    /points outside the task's folder/,
  ],
  [
    'a chain through a link listed after it',
    [
      { p: 'out/a', t: 'l', m: 0o777, l: 'z/z/../../..' },
      { p: 'out/z', t: 'l', m: 0o777, l: '.' },
    ],
    /points outside the task's folder/,
  ],
  [
    'a write through its own chain',
    [
      { p: 'out/dot', t: 'l', m: 0o777, l: '.' },
      { p: 'out/esc', t: 'l', m: 0o777, l: `dot/../../${SENTINEL}` },
      { p: 'out/esc/pwned.txt', t: 'f', m: 0o644, data: 'pwned\n' },
    ],
    /through a symlink/,
  ],
  [
    'an absolute path',
    [{ p: path.join(os.tmpdir(), MARK), t: 'f', m: 0o644, data: 'pwned\n' }],
    /unsafe path/,
  ],
  [
    'a ".." path',
    [{ p: `out/../../${SENTINEL}/pwned.txt`, t: 'f', m: 0o644, data: 'pwned\n' }],
    /unsafe path/,
  ],
  ['an absolute symlink target', [{ p: 'out/abs', t: 'l', m: 0o777, l: '/etc' }], /absolute/],
  [
    'a symlink loop',
    [
      { p: 'out/x', t: 'l', m: 0o777, l: 'y' },
      { p: 'out/y', t: 'l', m: 0o777, l: 'x' },
    ],
    /more than 40 links/,
  ],
  [
    'a declared size past the end',
    [{ p: 'out/a.txt', t: 'f', m: 0o644, s: 4096, data: 'short\n' }],
    /truncated/,
  ],
  [
    'a declared size short of the bytes',
    [
      { p: 'out/a.txt', t: 'f', m: 0o644, s: 2, data: 'longer than two\n' },
      { p: 'out/b.txt', t: 'f', m: 0o644, data: 'b\n' },
    ],
    /malformed|truncated|not valid JSON|trailing/,
  ],
  [
    'a path outside the declared outputs',
    [{ p: 'src.txt', t: 'f', m: 0o644, data: 'x\n' }],
    /declared outputs/,
  ],
];

beforeAll(async () => {
  remote = await startFakeRemote();
  const template = fresh();
  H = (await run(template)).hash;
  expect(H).toMatch(/^[0-9a-f]{64}$/);
});

afterAll(async () => {
  await remote?.close();
  for (const w of made) w.cleanup();
  rmSync(path.join(path.dirname(made[0]?.dir ?? '/nonexistent'), MARK), { force: true, recursive: true });
});

// Each case has its own workspace and local cache: they may run side by side.
describe.concurrent('hostile local cache entries', () => {
  it.each(HOSTILE)('refuses %s', async (_name, recs, why) => {
    const ws = fresh();
    plantLocal(ws, H, craftEntry(H, craftArchive(recs)));
    await expectRefused(ws, new RegExp(`refusing cache entry[^\\n]*${why.source}`));
  });

  it.each([
    [
      'made for another hash',
      'entry belongs to another hash',
      () => craftEntry('0'.repeat(64), craftArchive([])),
    ],
    [
      'with a wrong digest',
      'checksum mismatch',
      () => {
        const b = craftEntry(H, craftArchive([{ p: 'out/a.txt', t: 'f', m: 0o644, data: 'cached\n' }]));
        b[b.length - 40] = (b[b.length - 40] as number) ^ 0xff;
        return b;
      },
    ],
    ['of another format', 'not a slipway cache entry', () => Buffer.from('#!/bin/sh\nrm -rf /\n')],
  ])('refuses an entry %s', async (_name, why, bytes) => {
    const ws = fresh();
    plantLocal(ws, H, bytes());
    await expectRefused(ws, new RegExp(`damaged \\(${why}`));
  });

  it('restores a setuid/setgid file without those bits', async () => {
    const ws = fresh();
    plantLocal(
      ws,
      H,
      craftEntry(
        H,
        craftArchive([
          { p: 'out', t: 'd', m: 0o3777 },
          { p: 'out/a.txt', t: 'f', m: 0o6755, data: 'cached\n' },
        ]),
      ),
    );
    const r = await run(ws);
    expect(r.cache).toBe('hit-local');
    expect(ranTimes(ws)).toBe(0);
    expect(ws.read('pkg/out/a.txt')).toBe('cached\n');
    expect(statSync(ws.path('pkg/out/a.txt')).mode & 0o7777).toBe(0o755);
    expect(statSync(ws.path('pkg/out')).mode & 0o7000).toBe(0);
  });

  it('refuses a chain through a symlink already on disk beside the outputs', async () => {
    // outputs cover out/*.txt and out/esc only: out/up is the user's, and the kernel follows it.
    const ws = fresh(pipelineYaml(tasks(['out/*.txt', 'out/esc'])));
    const first = await run(ws);
    symlinkSync('..', ws.path('pkg/out/up'));
    const hash = first.hash;
    plantLocal(
      ws,
      hash,
      craftEntry(
        hash,
        craftArchive([
          { p: 'out/a.txt', t: 'f', m: 0o644, data: 'cached\n' },
          { p: 'out/esc', t: 'l', m: 0o777, l: `up/../${SENTINEL}` },
        ]),
      ),
    );
    rmSync(ws.path('pkg/out/a.txt'));
    expect(first.cache).toBe('miss');
    const before = outside(ws);
    const r = await run(ws);
    expect(r.output).toMatch(/refusing cache entry[^\n]*"out\/esc"[^\n]*points outside/);
    expect(r.cache).toBe('miss');
    expect(ws.read('pkg/out/a.txt')).toBe('fresh\n');
    expect(ws.exists('pkg/out/esc')).toBe(false);
    expect(outside(ws)).toEqual(before);
    expect(escapingLinks(ws.path('pkg'))).toEqual([]);
  });

  it('never lists, deletes or writes through an output folder that is a symlink on disk', async () => {
    const ws = fresh(pipelineYaml(tasks(['out/sub/**'], 'out/sub')));
    const first = await run(ws);
    expect(first.cache).toBe('miss');
    // A leftover link where the outputs' parent folder was: the legitimate entry must not be
    // restored through it, and the stale-output sweep must not see (and delete) what it points at.
    rmSync(ws.path('pkg/out'), { recursive: true });
    symlinkSync(`../${SENTINEL}`, ws.path('pkg/out'));
    rmSync(ws.path('.slipway/ledger'), { force: true });
    const before = outside(ws);
    const r = await run(ws);
    expect(r.output).toMatch(/refusing cache entry[^\n]*through the symlink "out"/);
    expect(r.cache).toBe('miss');
    expect(outside(ws)).toEqual(before);
    expect(ws.read('pkg/out/sub/a.txt')).toBe('fresh\n');
  });
});

describe('hostile remote cache (fake Turborepo v8 server)', () => {
  const chain = craftArchive(HOSTILE[0]?.[1] ?? []);

  it('refuses a symlink chain from the remote and keeps no local copy of it', async () => {
    const ws = fresh();
    remote.plant(H, { body: craftEntry(H, chain) });
    await expectRefused(ws, /refusing cache entry[^\n]*points outside/, { env: remoteEnv() });
    expect(remote.requests).toContain(`GET /v8/artifacts/${H}`);
  });

  it('refuses a hostile archive even when its signature is valid', async () => {
    const ws = fresh();
    const body = craftEntry(H, chain);
    remote.plant(H, { body, tag: artifactTag('the-key', H, TEAM, body) });
    await expectRefused(ws, /refusing cache entry[^\n]*points outside/, {
      env: remoteEnv({ SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY: 'the-key' }),
    });
  });

  it.each([
    ['a tag made with another key', (b: Buffer) => artifactTag('not-the-key', H, TEAM, b)],
    ['a tag for other bytes', () => artifactTag('the-key', H, TEAM, Buffer.from('other'))],
    ['no tag at all', () => undefined],
    ['a tag that is not base64', () => '%%%'],
  ])('refuses a bad signature: %s', async (_name, tagOf) => {
    const ws = fresh();
    const body = craftEntry(H, craftArchive([{ p: 'out/a.txt', t: 'f', m: 0o644, data: 'cached\n' }]));
    remote.plant(H, { body, tag: tagOf(body) });
    await expectRefused(ws, /failed the signature check/, {
      env: remoteEnv({ SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY: 'the-key' }),
    });
  });

  it.each([
    ['a body cut short with its full length announced', { cutAt: 40 }, /remote [^\n]*download interrupted/],
    ['a truncated entry', { truncate: 40 }, /unusable \(checksum mismatch/],
    ['an entry for another hash', { other: true }, /unusable \(entry belongs to another hash/],
  ])('refuses %s', async (_name, how, why) => {
    const ws = fresh();
    const good = craftEntry(
      'other' in how ? 'f'.repeat(64) : H,
      craftArchive([{ p: 'out/a.txt', t: 'f', m: 0o644, data: 'cached\n' }]),
    );
    const body = 'truncate' in how ? good.subarray(0, good.length - how.truncate) : good;
    remote.plant(H, { body, cutAt: 'cutAt' in how ? how.cutAt : undefined });
    await expectRefused(ws, why, { env: remoteEnv() });
  });

  it('restores a setuid file from the remote without the bit', async () => {
    const ws = fresh();
    remote.plant(H, {
      body: craftEntry(H, craftArchive([{ p: 'out/a.txt', t: 'f', m: 0o4755, data: 'cached\n' }])),
    });
    const r = await run(ws, remoteEnv());
    expect(r.cache).toBe('hit-remote');
    expect(statSync(ws.path('pkg/out/a.txt')).mode & 0o7777).toBe(0o755);
    expect(readFileSync(ws.path('pkg/out/a.txt'), 'utf8')).toBe('cached\n');
  });
});
