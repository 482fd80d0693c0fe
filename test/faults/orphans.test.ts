/**
 * Defect 3 (issue 10): `kill -9` of slipway left task process trees running, and `--resume` ran
 * a second copy beside the orphan. Now a watchdog kills every task process group within about a
 * second of slipway dying, and should the watchdog die too, the next run reaps what the dead run
 * recorded under `.slipway/procs/` before it starts anything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  killTree,
  pipelineYaml,
  readPid,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';

const made: Workspace[] = [];
const pids: number[] = [];
afterAll(() => {
  for (const p of pids) killTree(p);
  for (const ws of made) ws.cleanup();
});

// A task with a grandchild, each writing its pid; "end <pid>" is written only by a copy that
// lives to finish (30 s, or at once once the file `fast` exists).
const TASK =
  'echo "start $$" >> runs.log; echo $$ > task.pid; ' +
  "sh -c 'echo $$ > gc.pid; exec sleep 60' & " +
  '[ -f fast ] || sleep 30; echo "end $$" >> runs.log';

/** The watchdog of slipway `pid` (its command line ends with "slipway-watchdog <pid>"), if any. */
function watchdogOf(pid: number): number | undefined {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.at(-2) === 'slipway-watchdog' && argv.at(-1) === String(pid)) return Number(p);
    } catch {
      // exited
    }
  }
  return undefined;
}

async function startAndWaitForTask(w: Workspace) {
  const cli = w.spawn(['run', 'work'], { timeoutMs: 90_000 });
  const tree = await waitFor(
    () => {
      const t = readPid(w.path('task.pid'));
      const g = readPid(w.path('gc.pid'));
      return t && g ? [t, g] : undefined;
    },
    { what: 'the task and its grandchild to start' },
  );
  pids.push(...tree);
  return { cli, tree };
}

describe('kill -9 of slipway mid-task', () => {
  it('takes the task process tree with it', async () => {
    const w = workspace(pipelineYaml({ work: { run: TASK } }));
    made.push(w);
    const { cli, tree } = await startAndWaitForTask(w);
    for (const p of tree) expect(isAlive(p)).toBe(true);
    cli.child.kill('SIGKILL');
    expect((await cli.done).signal).toBe('SIGKILL');
    // Within about a second (the watchdog's grace); the deadline is generous for a loaded machine.
    await waitFor(() => tree.every((p) => !isAlive(p)), {
      timeoutMs: 20_000,
      what: `task processes ${tree.join(', ')} to be gone`,
    });
    expect(w.read('runs.log')).not.toContain('end');
  });

  it("--resume first reaps a dead run's orphans (watchdog killed too), then runs one copy", async () => {
    const w = workspace(pipelineYaml({ work: { run: TASK } }));
    made.push(w);
    const { cli, tree } = await startAndWaitForTask(w);
    // Everything slipway has is killed at once: its watchdog first, then slipway.
    const dog = await waitFor(() => watchdogOf(cli.child.pid!) ?? false, {
      timeoutMs: 20_000,
      what: 'the watchdog',
    }).catch(() => undefined); // (the old code has none)
    if (dog) process.kill(dog, 'SIGKILL');
    cli.child.kill('SIGKILL');
    await cli.done;
    // The orphan is still there: only the next run can stop it now.
    for (const p of tree) expect(isAlive(p)).toBe(true);

    w.write('fast', '');
    const r = await w.run(['run', '--resume'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `stopped 1 task process group(s) left running by a run that died (pid ${cli.child.pid})`,
    );
    for (const p of tree) expect(isAlive(p)).toBe(false);
    // One copy ran to its end, and it was the resumed one.
    const log = w.read('runs.log').trim().split('\n');
    const resumed = readPid(w.path('task.pid'))!;
    pids.push(resumed);
    expect(log).toEqual([`start ${tree[0]}`, `start ${resumed}`, `end ${resumed}`]);
    expect(w.exists('.slipway/procs') ? readdirSync(w.path('.slipway/procs')) : []).toEqual([]);
  });
});
