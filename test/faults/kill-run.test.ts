/**
 * Fault injection (issue 10): `kill -9` of `slipway run` at 20 points drawn from a fixed seed,
 * before the first task, mid-task, mid-archive, mid-cache-write and mid-history-write. Named
 * points are `failpoint()`s (src/util/failpoint.ts: the CLI kills itself there, so the point is
 * exact on a loaded machine); the others are a SIGKILL from outside once a task's marker exists.
 * After each kill, `run --resume` and then a plain run from a checkout with no outputs at all
 * (so every output comes back from the cache) must give:
 *
 * - a history database that opens and passes `PRAGMA integrity_check`;
 * - every output byte-identical to a clean `--no-cache` run;
 * - no orphan: every pid any task wrote (task shells and a grandchild each) is gone;
 * - the killed run listed as `interrupted` by `slipway history --json`, the later ones `success`.
 *
 * Cost: each case is three to four CLI runs of a four-task pipeline (~5 s of wall time on a
 * quiet machine); cases run three at a time, the file in well under a minute or two on a loaded
 * two-core machine.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/analyze/random.js';
import {
  isAlive,
  killTree,
  pipelineYaml,
  readSummary,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';

const SEED = 0x5eed10;
const POINTS = 20;
const AT_ONCE = 3;

// Four tasks, a diamond: gen -> (left, right) -> join. Each writes its shell's pid and a
// grandchild's pid, then its marker; while the file `hold-<task>` exists it waits (so a kill from
// outside surely lands mid-task, however loaded the machine), then works a little.
// Outputs are rewritten from scratch, as a task must for a rerun to be right.
const prologue = (id: string) =>
  `echo $$ >> "$FAULT_DIR/pids"; sleep 60 & echo $! >> "$FAULT_DIR/pids"; touch "$FAULT_DIR/${id}.started"; ` +
  `i=0; while [ -f "$FAULT_DIR/hold-${id}" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done; sleep 0.1; `;
const TASKS = {
  gen: {
    run: `${prologue('gen')}rm -rf out/gen && mkdir -p out/gen/deep && for i in 1 2 3 4 5 6; do echo "gen $i $(cat src/seed.txt)" >> out/gen/data.txt; done && cp src/seed.txt out/gen/deep/seed.txt`,
    inputs: ['src/**'],
    outputs: ['out/gen/**'],
  },
  left: {
    run: `${prologue('left')}rm -rf out/left && mkdir -p out/left && sed 's/gen/left/' out/gen/data.txt > out/left/data.txt`,
    needs: ['gen'],
    inputs: ['src/**'],
    outputs: ['out/left/**'],
  },
  right: {
    run: `${prologue('right')}rm -rf out/right && mkdir -p out/right/sub && sed 's/gen/right/' out/gen/data.txt > out/right/data.txt && sort -r out/gen/data.txt > out/right/sub/rev.txt`,
    needs: ['gen'],
    inputs: ['src/**'],
    outputs: ['out/right/**'],
  },
  join: {
    run: `${prologue('join')}rm -rf out/join && mkdir -p out/join && cat out/left/data.txt out/right/data.txt out/right/sub/rev.txt > out/join/all.txt`,
    needs: ['left', 'right'],
    inputs: ['src/**'],
    outputs: ['out/join/**'],
  },
};
const TASK_IDS = Object.keys(TASKS);
/** Output files archived by a full run (the `cache-archive` point counts them). */
const ARCHIVED_FILES = 6;

type Point = { kind: 'failpoint'; spec: string } | { kind: 'marker'; task: string };

/**
 * Every point a full run surely reaches. `history-row` counts task rows written inside history
 * transactions: the first transaction (the run and its 4 pending tasks, written before the first
 * task process starts) holds rows 1-4; every task's end is at least one more row, so 5-8 land
 * in later transactions, always reached.
 */
function candidates(): Point[] {
  const fp = (spec: string): Point => ({ kind: 'failpoint', spec });
  const n = (k: number) => Array.from({ length: k }, (_, i) => i + 1);
  return [
    fp('run-first-task:1'),
    ...n(TASK_IDS.length).map((i) => fp(`task-spawned:${i}`)),
    ...TASK_IDS.map((task): Point => ({ kind: 'marker', task })),
    ...n(ARCHIVED_FILES).map((i) => fp(`cache-archive:${i}`)),
    ...n(TASK_IDS.length).map((i) => fp(`cache-write:${i}`)),
    ...n(TASK_IDS.length).map((i) => fp(`history-row:${TASK_IDS.length + i}`)),
  ];
}

/** The point before the first task, then the rest in a seeded order. */
function seededPoints(): Point[] {
  const [first, ...rest] = candidates();
  const next = mulberry32(SEED);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return [first!, ...rest.slice(0, POINTS - 1)];
}

const label = (p: Point) => (p.kind === 'failpoint' ? p.spec : `outside kill mid-${p.task}`);

/** A limit on cases at once (two cores, three CLI processes per case). */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
const slot = limiter(AT_ONCE);

const made: Workspace[] = [];
const scratch: string[] = [];
const allPids = new Set<number>();
afterAll(() => {
  for (const p of allPids) killTree(p);
  for (const ws of made) ws.cleanup();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function fixture(): { w: Workspace; faults: string } {
  const w = workspace(pipelineYaml(TASKS));
  w.write('src/seed.txt', 'seed 42\n');
  made.push(w);
  const faults = mkdtempSync(path.join(os.tmpdir(), 'slipway-faults-'));
  scratch.push(faults);
  return { w, faults };
}

/** Every file under out/, with its bytes. */
function outputs(w: Workspace): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (rel: string) => {
    for (const d of readdirSync(w.path(rel), { withFileTypes: true })) {
      const p = `${rel}/${d.name}`;
      if (d.isDirectory()) visit(p);
      else files.set(p, readFileSync(w.path(p)).toString('base64'));
    }
  };
  if (w.exists('out')) visit('out');
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function taskPids(faults: string): number[] {
  let text = '';
  try {
    text = readFileSync(path.join(faults, 'pids'), 'utf8');
  } catch {
    return [];
  }
  const pids = text
    .split('\n')
    .map((l) => Number.parseInt(l, 10))
    .filter((n) => n > 0);
  for (const p of pids) allPids.add(p);
  return pids;
}

async function noOrphans(faults: string, when: string): Promise<void> {
  const pids = taskPids(faults);
  await waitFor(() => pids.every((p) => !isAlive(p)), {
    timeoutMs: 30_000,
    everyMs: 50,
    what: `no task process left ${when} (alive: ${pids.filter(isAlive).join(', ')})`,
  });
}

let reference: Map<string, string>;

beforeAll(async () => {
  const { w, faults } = fixture();
  const r = await w.run(['run', '--no-cache', '-c', '2'], { env: { FAULT_DIR: faults } });
  expect(r.code, r.stderr).toBe(0);
  reference = outputs(w);
  expect([...reference.keys()]).toEqual([
    'out/gen/data.txt',
    'out/gen/deep/seed.txt',
    'out/join/all.txt',
    'out/left/data.txt',
    'out/right/data.txt',
    'out/right/sub/rev.txt',
  ]);
});

describe(`kill -9 of run at ${POINTS} seeded points (seed ${SEED.toString(16)})`, () => {
  it('draws distinct points of every kind', () => {
    const points = seededPoints().map(label);
    expect(new Set(points).size).toBe(POINTS);
    for (const kind of [
      'run-first-task',
      'task-spawned',
      'mid-',
      'cache-archive',
      'cache-write',
      'history-row',
    ]) {
      expect(
        points.some((p) => p.includes(kind)),
        kind,
      ).toBe(true);
    }
  });

  it.concurrent.each(seededPoints().map((p) => [label(p), p] as const))(
    'killed at %s: resumes to the clean outputs, history intact, no orphan, run interrupted',
    (_name, point) =>
      slot(async () => {
        const { w, faults } = fixture();
        const env = { FAULT_DIR: faults };

        // 1. The run, killed.
        if (point.kind === 'marker') writeFileSync(path.join(faults, `hold-${point.task}`), '');
        const killed =
          point.kind === 'failpoint'
            ? w.spawn(['run', '-c', '2'], {
                env: { ...env, SLIPWAY_FAILPOINT: point.spec },
                timeoutMs: 90_000,
              })
            : w.spawn(['run', '-c', '2'], { env, timeoutMs: 90_000 });
        if (point.kind === 'marker') {
          const marker = path.join(faults, `${point.task}.started`);
          await waitFor(() => readdirSync(faults).includes(path.basename(marker)), {
            timeoutMs: 60_000,
            what: `${point.task} to start`,
          });
          killed.child.kill('SIGKILL');
        }
        const k = await killed.done;
        rmSync(path.join(faults, `hold-${point.kind === 'marker' ? point.task : ''}`), { force: true });
        expect(k.signal, `the run was not killed (exit ${k.code}): ${k.stderr}`).toBe('SIGKILL');
        await noOrphans(faults, 'after the kill');

        // 2. --resume, then a plain run from a checkout without outputs (all from the cache).
        const resumed = await w.run(['run', '--resume', '-c', '2'], { env, timeoutMs: 90_000 });
        expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
        expect(outputs(w)).toEqual(reference);
        rmSync(w.path('out'), { recursive: true, force: true });
        const plain = await w.run(['run', '-c', '2', '--summary', 'plain.json'], { env, timeoutMs: 90_000 });
        expect(plain.code, plain.stdout + plain.stderr).toBe(0);
        const s = readSummary(w, 'plain.json');
        expect(s.tasks.map((t) => `${t.id}:${t.cache}`).sort()).toEqual(
          TASK_IDS.map((t) => `${t}:hit-local`).sort(),
        );
        expect(outputs(w)).toEqual(reference);
        await noOrphans(faults, 'after the later runs');

        // 3. History: intact, the killed run interrupted, the later ones successful.
        const h = await w.run(['history', '--json']);
        expect(h.code, h.stderr).toBe(0);
        const runs = JSON.parse(h.stdout) as { id: string; status: string }[];
        expect(runs.length).toBeGreaterThanOrEqual(2);
        expect(runs.map((r) => r.status)).toEqual([...runs.slice(1).map(() => 'success'), 'interrupted']);
        const db = new Database(w.path('.slipway', 'history.db'), { readonly: true });
        try {
          expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
          const running = db.prepare("select count(*) as n from runs where status = 'running'").get() as {
            n: number;
          };
          expect(running.n).toBe(0);
        } finally {
          db.close();
        }
      }),
    300_000,
  );
});
