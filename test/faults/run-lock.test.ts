/**
 * Defect 2 (issue 10): two `slipway run` in one checkout. Before the run lock, both ran the same
 * task into the same file and each cached what the other had half written; later runs restored
 * that mix as a hit. Now the second run waits for the first (saying whose lock it is), a run
 * with --no-wait fails at once, and a lock left by a dead run is taken over.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import {
  pipelineYaml,
  readSummary,
  SLIPWAY_BIN,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const ws of made) ws.cleanup();
});

const TEN = Array.from({ length: 10 }, (_, i) => `${i + 1}\n`).join('');

describe('two runs in one checkout', () => {
  it('the second waits for the first; the cache then restores exactly what one run wrote', async () => {
    // Ten lines, slowly: a second run started meanwhile would (without the lock) rewrite the file
    // while the first is still appending to it.
    const w = workspace(
      pipelineYaml({
        lines: {
          run: 'rm -f out.txt; for i in 1 2 3 4 5 6 7 8 9 10; do echo $i >> out.txt; sleep 0.3; done',
          inputs: ['slipway.yml'],
          outputs: ['out.txt'],
        },
      }),
    );
    made.push(w);
    const first = w.spawn(['run'], { timeoutMs: 60_000 });
    await waitFor(() => w.exists('out.txt'), { what: 'the first run to start writing' });

    const second = w.spawn(['run', '--summary', 'second.json'], { timeoutMs: 60_000 });
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const afterBoth = w.read('out.txt');

    // A third run restores from the cache entry: exactly ten lines (the old code restored a mix
    // of both runs' writes, 14-16 lines, as a hit).
    w.write('out.txt', 'damaged\n');
    const c = await w.run(['run', '--summary', 'third.json']);
    expect(c.code, c.stderr).toBe(0);
    expect(readSummary(w, 'third.json').byId.get('lines')?.cache).toBe('hit-local');
    expect(w.read('out.txt')).toBe(TEN);
    expect(afterBoth).toBe(TEN);
    // The second run found the first one's outputs in place: it ran nothing...
    expect(readSummary(w, 'second.json').byId.get('lines')?.cache).toBe('hit-local');
    // ... because it waited, saying for whom.
    expect(b.stderr).toMatch(
      new RegExp(
        `waiting for the run lock of this checkout \\(\\.slipway/run\\.lock\\), held by pid ${first.child.pid} \\(slipway run, started \\d{4}-`,
      ),
    );
  });

  it('takes over the lock of a run that died, without waiting', async () => {
    const w = workspace(pipelineYaml({ ok: { run: 'echo ok > ok.txt', outputs: ['ok.txt'] } }));
    made.push(w);
    const gone = spawn('true');
    await new Promise((r) => gone.on('exit', r));
    w.write(
      '.slipway/run.lock',
      JSON.stringify({
        pid: gone.pid,
        host: os.hostname(),
        since: Date.now(),
        command: 'slipway run',
        start: '1',
      }),
    );
    const r = await w.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('waiting');
    expect(w.read('ok.txt')).toBe('ok\n');
    // Released at the end.
    expect(w.exists('.slipway/run.lock')).toBe(false);
  });

  it('a run started by a task of the run holding the lock goes ahead instead of waiting for ever', async () => {
    const w = workspace(
      pipelineYaml({
        outer: { run: `"${process.execPath}" "${SLIPWAY_BIN}" run -f inner.yml`, inputs: ['slipway.yml'] },
      }),
    );
    made.push(w);
    w.write('inner.yml', pipelineYaml({ inner: { run: 'echo inner > inner.txt' } }));
    const r = await w.run(['run'], { timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.read('inner.txt')).toBe('inner\n');
    expect(r.stdout + r.stderr).not.toContain('waiting');
  });

  it('--no-wait fails at once naming the holder; read-only commands neither take nor wait for the lock', async () => {
    const w = workspace(pipelineYaml({ slow: { run: 'touch started; sleep 30' } }));
    made.push(w);
    const run = w.spawn(['run'], { timeoutMs: 60_000 });
    await waitFor(() => w.exists('started'), { what: 'the task to start' });
    // --no-wait: refused at once, naming the holder.
    const busy = await w.run(['run', '--no-wait']);
    expect(busy.code, busy.stdout).toBe(1);
    expect(busy.stderr).toContain(
      `another run holds this checkout's run lock: pid ${run.child.pid} (slipway run`,
    );

    for (const cmd of [['history'], ['plan']]) {
      const r = await w.run(cmd);
      expect(r.code, `${cmd[0]}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toContain('waiting');
    }
    run.child.kill('SIGINT');
    await run.done;
  });
});
