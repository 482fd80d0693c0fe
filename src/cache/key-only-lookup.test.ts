/**
 * A key-only lookup (`restore: false`, what a scale-out worker asks just before starting a job's
 * command) returns the key before the hash's manifest (`slipway why`) is written, and the
 * manifest is written in the next turn of the event loop; a restoring lookup writes it first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parsePipeline } from '../config/load.js';
import { EventStream, type RunEvent } from '../events.js';
import { Checkout } from '../state/checkout.js';
import { cacheSettings } from './config.js';
import { createTaskCache } from './index.js';
import { ManifestStore } from './manifests.js';

const YML = `version: 1
tasks:
  build:
    run: build it
    inputs: ["src.txt"]
    outputs: ["out/**"]
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-key-only-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'slipway.yml'), YML);
  writeFileSync(path.join(dir, 'src.txt'), 'a\n');
  writeFileSync(path.join(dir, '.gitignore'), '.slipway\nout\n');
  const g = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'pipe' });
  g('init', '-q');
  g('add', '-A');
  g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  const pipeline = parsePipeline('slipway.yml', path.join(dir, 'slipway.yml'), YML);
  const warnings: string[] = [];
  const events = new EventStream<RunEvent>();
  events.subscribe((e) => {
    if (e.type === 'warning') warnings.push(e.message);
  });
  const cache = await createTaskCache({ pipeline, events, env: {}, checkout: new Checkout(dir) });
  const manifests = new ManifestStore(path.join(cacheSettings(pipeline, {}).dir, 'manifests'));
  return { pipeline, cache, manifests, warnings, task: pipeline.tasks.get('build')! };
}

const nextTurn = () => new Promise((r) => setImmediate(r));

it('a key-only lookup records the manifest after returning the key, in the next turn', async () => {
  const { cache, manifests, warnings, task } = await setup();
  const { hash } = await cache.lookup(task, new Map(), { restore: false });
  expect(manifests.history('build')).toEqual([]);
  await nextTurn();
  expect(manifests.history('build').map((h) => h.hash)).toEqual([hash]);
  expect(manifests.read('build', hash)?.taskId).toBe('build');
  expect(warnings).toEqual([]);
});

it('a restoring lookup records the manifest before it returns', async () => {
  const { cache, manifests, task } = await setup();
  const { hash } = await cache.lookup(task, new Map(), { restore: true });
  expect(manifests.history('build').map((h) => h.hash)).toEqual([hash]);
});
