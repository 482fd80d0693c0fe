/**
 * TaskCache.settle through the real layered cache in a temporary git repository: tasks whose
 * outputs are still exactly as their hash left them are settled (in dependency order, only when
 * every dependency in the graph settled too), through the start-up stats of a fresh checkout,
 * and nothing is settled that changed — whether the start-up probe answered or not.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePipeline } from '../config/load.js';
import { EventStream, type RunEvent } from '../events.js';
import { TaskGraph } from '../graph/graph.js';
import { Checkout } from '../state/checkout.js';
import { createTaskCache } from './index.js';
import type { TaskHash } from './types.js';

const YML = `version: 1
tasks:
  lib:
    run: build lib
    cwd: lib
    outputs: ["dist/**"]
  app:
    run: build app
    cwd: app
    needs: [lib]
    outputs: ["dist/**"]
  other:
    run: build other
    cwd: other
    outputs: ["out/**"]
  notify:
    run: echo
    needs: [app]
    cache: false
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function repo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-settle-'));
  dirs.push(dir);
  const files: Record<string, string> = {
    'slipway.yml': YML,
    '.gitignore': '.slipway\ndist\nout\n',
    'lib/src/a.js': 'a\n',
    'app/src/b.js': 'b\n',
    'other/src/c.js': 'c\n',
  };
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), c);
  }
  const g = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'pipe' });
  g('init', '-q');
  g('add', '-A');
  g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  return dir;
}

/** A fresh cache over a fresh checkout of `dir`, as one `slipway run` has. */
async function cacheFor(dir: string, o: { probe: boolean }) {
  const pipeline = parsePipeline('slipway.yml', path.join(dir, 'slipway.yml'), YML);
  const checkout = new Checkout(dir);
  if (o.probe) checkout.probe();
  const warnings: string[] = [];
  const events = new EventStream<RunEvent>();
  events.subscribe((e) => {
    if (e.type === 'warning') warnings.push(e.message);
  });
  const cache = await createTaskCache({ pipeline, events, env: {}, checkout });
  return { pipeline, cache, warnings, checkout, graph: TaskGraph.fromPipeline(pipeline) };
}

/** Runs every cacheable task "by hand" (writes its outputs) and saves it, as the executor would. */
async function buildAll(dir: string): Promise<void> {
  const { pipeline, cache, graph } = await cacheFor(dir, { probe: false });
  const hashes = new Map<string, TaskHash>();
  for (const id of graph.topo()) {
    const task = pipeline.tasks.get(id)!;
    const deps = new Map([...graph.deps(id)].map((d) => [d, hashes.get(d)!]));
    const { hash } = await cache.lookup(task, deps, { restore: true });
    hashes.set(id, hash);
    if (!task.cache) continue;
    const out = path.join(task.cwd, task.outputs[0]!.split('/')[0]!);
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'built.txt'), `${id}\n`);
    await cache.save(task, hash, { log: `built ${id}\n`, durationMs: 100 });
  }
  await cache.flush();
}

describe.each([
  ['with the start-up probe', true],
  ['without it (stats taken in-process)', false],
])('TaskCache.settle %s', (_name, probe) => {
  it('settles every cacheable task whose outputs are in place, in dependency order', async () => {
    const dir = repo();
    await buildAll(dir);
    const { cache, warnings, graph, checkout } = await cacheFor(dir, { probe });
    // The probe's answer is the recorded text itself: one comparison settles everything.
    if (probe) expect(await checkout.outputStats()).toBe(checkout.ledger.outputText);
    else expect(checkout.outputStats()).toBeUndefined();
    const settled = await cache.settle(graph);
    expect([...settled.keys()]).toEqual(graph.topo().filter((id) => id !== 'notify'));
    for (const found of settled.values()) expect(found.hit).toMatchObject({ source: 'local', savedMs: 100 });
    expect(settled.get('lib')?.hit?.log).toBe('built lib\n');
    expect(warnings).toEqual([]);
  });

  it('leaves out a task whose outputs changed, and its dependents in the graph', async () => {
    const dir = repo();
    await buildAll(dir);
    writeFileSync(path.join(dir, 'lib/dist/built.txt'), 'LIB\n'); // same size, new content
    const { cache, graph } = await cacheFor(dir, { probe });
    const settled = await cache.settle(graph);
    expect([...settled.keys()]).toEqual(['other']);
  });

  it('settles a dependent whose dependency is outside the graph (a filtered run)', async () => {
    const dir = repo();
    await buildAll(dir);
    writeFileSync(path.join(dir, 'lib/dist/built.txt'), 'LIB\n');
    const { cache, graph } = await cacheFor(dir, { probe });
    // lib is not in this run: app is judged on its own outputs and lib's hash.
    const settled = await cache.settle(graph.select(['app']).without(new Set(['lib'])));
    expect([...settled.keys()]).toEqual(['app']);
  });

  it('settles nothing after an input edit changes the hashes', async () => {
    const dir = repo();
    await buildAll(dir);
    writeFileSync(path.join(dir, 'lib/src/a.js'), 'a2\n');
    const { cache, graph } = await cacheFor(dir, { probe });
    const settled = await cache.settle(graph);
    expect([...settled.keys()]).toEqual(['other']);
  });
});
