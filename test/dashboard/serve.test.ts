/**
 * `slipway serve` as a user starts it: its address on port 0, one-line errors (exit 2) for a bad
 * store, a busy port, a public address without a token and a bad token file, and a run started
 * by another process appearing live and finishing in the event stream.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineYaml, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';
import { startServe } from '../helpers/serve.js';

const workspaces: Workspace[] = [];
afterAll(() => {
  for (const w of workspaces) w.cleanup();
});

function ws(): Workspace {
  const w = workspace(
    pipelineYaml(
      {
        first: { run: 'sleep 1' },
        second: { run: 'sleep 1', needs: ['first'] },
        third: { run: 'sleep 1', needs: ['second'] },
      },
      { name: 'live' },
    ),
  );
  workspaces.push(w);
  return w;
}

function expectUsageError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.split('\n')[0]).toMatch(/^error: /);
  expect(r.stderr.split('\n')[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(STACK_FRAME);
}

describe('slipway serve', () => {
  it('refuses a store that is no store', async () => {
    const r = await ws().run(['serve', '--listen', '127.0.0.1:0', '--store', 'mysql://db/x']);
    expectUsageError(r, /mysql:\/\/ is not a supported store/);
  });

  it('refuses an unreachable PostgreSQL store with one line', async () => {
    const r = await ws().run([
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--store',
      'postgres://nobody@127.0.0.1:1/x',
    ]);
    expectUsageError(r, /cannot open store postgres:\/\/nobody@127\.0\.0\.1:1\/x/);
  });

  it('says a busy port is busy', async () => {
    const srv = createServer().listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    try {
      const r = await ws().run(['serve', '--listen', `127.0.0.1:${port}`]);
      expectUsageError(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      srv.close();
    }
  });

  it('will not listen beyond loopback without a token', async () => {
    const w = ws();
    expectUsageError(
      await w.run(['serve', '--listen', '0.0.0.0:0']),
      /refusing to listen on 0\.0\.0\.0 without a token/,
    );
    w.write('short.token', 'abc\n');
    expectUsageError(
      await w.run(['serve', '--listen', '0.0.0.0:0', '--token-file', 'short.token']),
      /shorter than 16 characters/,
    );
    expectUsageError(await w.run(['serve', '--listen', 'nonsense']), /bad --listen "nonsense"/);
  });

  it('shows a run started by another process live until it ends', async () => {
    const w = ws();
    const served = await startServe([], { cwd: w.dir });
    try {
      const idle = (await (await fetch(`${served.url}/api/runs`)).json()) as { runs: unknown[] };
      expect(idle.runs).toEqual([]);
      // A page elsewhere whose name was re-pointed at 127.0.0.1 (DNS rebinding) gets nothing.
      const port = new URL(served.url).port;
      const rebound = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/api/runs', headers: { host: `evil.example:${port}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(rebound).toBe(421);
      const run = w.spawn(['run']);
      const live = await fetch(`${served.url}/api/live`);
      const reader = live.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      let runId: string | undefined;
      // The running run appears in the live stream (it is read from the store the run writes).
      while (!runId) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        runId = /"running":\[\{"id":"([^"]+)"/.exec(text)?.[1];
      }
      await reader.cancel();
      expect(runId).toBeDefined();
      // Its own stream follows it to the end.
      const stream = await fetch(`${served.url}/api/runs/${runId}/live`);
      const body = await stream.text();
      const events = [...body.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({
        event: m[1],
        data: JSON.parse(m[2]!) as { run: { status: string }; tasks: { id: string; status: string }[] },
      }));
      expect(events.at(-1)!.event).toBe('done');
      expect(events.at(-1)!.data.run.status).toBe('success');
      expect(events.at(-1)!.data.tasks.map((t) => t.status)).toEqual(['success', 'success', 'success']);
      // It was seen before it ended: an earlier update had a task not yet done.
      expect(
        events.some((e) => e.event === 'update' && e.data.tasks.some((t) => t.status !== 'success')),
      ).toBe(true);
      expect((await run.done).code).toBe(0);
    } finally {
      await served.stop();
    }
  });
});
