/**
 * The daemon, end to end with real processes: a command it serves prints the same output and
 * ends with the same exit code as the same command run in the client's own process (a cached
 * run, a failing task, a config error); a daemon of another build is not used and steps down;
 * a killed daemon means the client runs the command itself; the socket is the owner's alone;
 * two clients at once each get their own process; the client's Ctrl-C and its death stop the
 * tasks; a deploy it serves lands the same release on a real agent and is recorded. Every test
 * stops the daemons it starts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentProc, loneTargetPipeline, startAgentOnFreePorts, stopAgent } from '../deploy/rig.js';
import {
  isAlive,
  killTree,
  pipelineYaml,
  readPid,
  runCli,
  SLIPWAY_BIN,
  STACK_FRAME,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';
import { type DaemonStatus, daemonStatus, deepCheckoutWithDaemon, sameOutput } from '../helpers/daemon.js';

const ON = { SLIPWAY_DAEMON: '1' };
const OFF = { SLIPWAY_DAEMON: '0' };

const made: Workspace[] = [];
const agents: AgentProc[] = [];
const pids: number[] = [];
const copies: string[] = [];
afterAll(async () => {
  for (const w of made) await w.run(['daemon', 'stop']);
  for (const p of pids) killTree(p);
  for (const a of agents) await stopAgent(a);
  for (const w of made) w.cleanup();
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

async function started(w: Workspace): Promise<DaemonStatus> {
  const r = await w.run(['daemon', 'start']);
  expect(r.code, r.stderr).toBe(0);
  const s = await daemonStatus(w);
  expect(s).not.toBeNull();
  pids.push(s!.pid);
  return s!;
}

function project(tasks: Parameters<typeof pipelineYaml>[0]): Workspace {
  const w = workspace(pipelineYaml(tasks));
  made.push(w);
  return w;
}

describe('slipway run through the daemon', () => {
  it('prints the same output and exit code as without it, for a fully cached run', async () => {
    const w = project({
      lib: { run: 'mkdir -p dist && echo lib > dist/lib.txt && echo built lib', outputs: ['dist/**'] },
      app: { run: 'echo app; echo warn >&2', needs: ['lib'] },
    });
    expect((await w.run(['run'], { env: OFF })).code).toBe(0);
    expect((await w.run(['run'], { env: OFF })).code).toBe(0);
    const before = await started(w);
    const served = await w.run(['run'], { env: ON });
    const local = await w.run(['run', '--no-daemon'], { env: ON });
    expect(served.code, served.stderr).toBe(0);
    expect(local.code).toBe(0);
    expect(served.stdout).toContain('2 cached');
    expect(sameOutput(served.stdout)).toBe(sameOutput(local.stdout));
    expect(sameOutput(served.stderr)).toBe(sameOutput(local.stderr));
    // It was the daemon that ran it, and --no-daemon did not go there.
    expect((await daemonStatus(w))?.served).toBe(before.served + 1);
    // The socket is the owner's alone.
    expect(statSync(before.socket).mode & 0o777).toBe(0o600);
  });

  it('prints the same output and exit code for a failing task', async () => {
    const w = project({
      ok: { run: 'echo fine' },
      bad: { run: 'echo about to fail; echo boom >&2; exit 3', needs: ['ok'] },
    });
    // First `ok` runs and is cached; then both runs below hit it and fail on `bad` alike.
    expect((await w.run(['run'], { env: OFF })).code).toBe(1);
    await started(w);
    const served = await w.run(['run'], { env: ON });
    const local = await w.run(['run'], { env: OFF });
    expect(served.code).toBe(1);
    expect(local.code).toBe(1);
    expect(served.stdout).toContain('boom');
    expect(sameOutput(served.stdout)).toBe(sameOutput(local.stdout));
    expect(sameOutput(served.stderr)).toBe(sameOutput(local.stderr));
    expect((await daemonStatus(w))?.served).toBe(1);
  });

  it('reports a config error the same way: file:line:col, exit 2, no stack trace', async () => {
    const w = project({ ok: { run: 'true' } });
    await started(w);
    w.pipeline('version: 1\ntasks:\n  a: { run: "true", needs: [nope] }\n');
    const served = await w.run(['run'], { env: ON });
    const local = await w.run(['run'], { env: OFF });
    expect(served.code).toBe(2);
    expect(served.stderr).toMatch(/slipway\.yml:3:\d+/);
    expect(served.stderr).not.toMatch(STACK_FRAME);
    expect(served.stdout).toBe(local.stdout);
    expect(served.stderr).toBe(local.stderr);
    expect((await daemonStatus(w))?.served).toBe(1);
  });

  it('reads a request whose non-ASCII bytes arrive split across two writes', async () => {
    const w = project({ build: { run: 'true' } });
    const s = await started(w);
    const request = {
      kind: 'run',
      build: s.build,
      root: w.dir,
      args: ['run', 'bùild'],
      cwd: w.dir,
      env: { ...(process.env as Record<string, string>), ...ON },
      stdout: { isTTY: false },
      stderr: { isTTY: false },
      startedAt: Date.now(),
    };
    const bytes = Buffer.from(`${JSON.stringify(request)}\n`);
    // Cut inside the two bytes of "ù".
    const cut = bytes.indexOf(Buffer.from('ù')) + 1;
    const socket = net.connect(s.socket);
    await new Promise((r) => socket.once('connect', r));
    socket.write(bytes.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 50));
    socket.write(bytes.subarray(cut));
    let got = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
    });
    await new Promise((r) => socket.once('close', r));
    // Frames: type byte, 32-bit length, payload; stderr frames carry the command's error.
    let stderr = '';
    for (let at = 0; at + 5 <= got.length; at += 5 + got.readUInt32BE(at + 1))
      if (got[at] === 0x65) stderr += got.subarray(at + 5, at + 5 + got.readUInt32BE(at + 1)).toString();
    // The task name came through whole: the error names it and suggests the real one.
    expect(stderr).toContain('"bùild"');
    expect(stderr).toContain('build');
  });

  it('is not used when it is of another build: the command runs here, the old daemon steps down', async () => {
    const w = project({ t: { run: 'echo t' } });
    // Another build: a copy of the CLI (its files have other mtimes).
    const root = path.resolve(path.dirname(SLIPWAY_BIN), '..');
    const other = mkdtempSync(path.join(os.tmpdir(), 'slipway-other-build-'));
    copies.push(other);
    cpSync(path.join(root, 'dist', 'cli'), path.join(other, 'dist', 'cli'), { recursive: true });
    cpSync(path.join(root, 'bin'), path.join(other, 'bin'), { recursive: true });
    cpSync(path.join(root, 'package.json'), path.join(other, 'package.json'));
    symlinkSync(path.join(root, 'node_modules'), path.join(other, 'node_modules'));
    const otherBin = path.join(other, 'bin', 'slipway.js');
    const r0 = spawnSync(process.execPath, [otherBin, 'daemon', 'start'], { cwd: w.dir, encoding: 'utf8' });
    expect(r0.status, r0.stderr).toBe(0);
    const oldStatus = JSON.parse(
      spawnSync(process.execPath, [otherBin, 'daemon', 'status', '--json'], { cwd: w.dir, encoding: 'utf8' })
        .stdout,
    ) as DaemonStatus;
    pids.push(oldStatus.pid);

    const r = await w.run(['run'], { env: ON });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('t | t');
    // The old daemon served nothing and is gone; this build's took its place.
    await waitFor(() => !isAlive(oldStatus.pid) || undefined, { what: 'the stale daemon to exit' });
    let now: DaemonStatus | null = null;
    for (let i = 0; i < 600 && !now; i++) {
      now = await daemonStatus(w);
      if (!now) await new Promise((r) => setTimeout(r, 50));
    }
    expect(now).not.toBeNull();
    pids.push(now!.pid);
    expect(now!.pid).not.toBe(oldStatus.pid);
    expect(now!.build).not.toBe(oldStatus.build);
  });

  it('falls back to running the command itself when the daemon was killed', async () => {
    const w = project({ t: { run: 'echo hello' } });
    const s = await started(w);
    process.kill(s.pid, 'SIGKILL');
    await waitFor(() => !isAlive(s.pid) || undefined, { what: 'the daemon to die' });
    // Its socket file is still there; nobody listens on it.
    expect(statSync(s.socket).isSocket()).toBe(true);
    const r = await w.run(['run'], { env: ON });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('t | hello');
  });

  it('gives two clients at once a process each', async () => {
    const w = project({ t: { run: 'sleep 0.3; echo done', cache: false } });
    await started(w);
    const [a, b] = await Promise.all([w.run(['run'], { env: ON }), w.run(['run'], { env: ON })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stdout).toContain('t | done');
    expect(b.stdout).toContain('t | done');
    expect((await daemonStatus(w))?.served).toBe(2);
  });

  it("forwards the client's Ctrl-C: the tasks stop and the exit code is the interrupted one", async () => {
    const w = project({ long: { run: 'echo $$ > long.pid; exec sleep 30', cache: false } });
    await started(w);
    const cli = w.spawn(['run'], { env: ON });
    const pid = await waitFor(() => readPid(w.path('long.pid')), { what: 'the task to start' });
    pids.push(pid);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('SIGINT received, stopping tasks');
    await waitFor(() => !isAlive(pid) || undefined, { what: 'the task to stop' });
  });

  it('stops the tasks when the client is killed', async () => {
    const w = project({ long: { run: 'echo $$ > long.pid; exec sleep 30', cache: false } });
    await started(w);
    const cli = w.spawn(['run'], { env: ON });
    const pid = await waitFor(() => readPid(w.path('long.pid')), { what: 'the task to start' });
    pids.push(pid);
    cli.child.kill('SIGKILL');
    await cli.done;
    await waitFor(() => !isAlive(pid) || undefined, { what: 'the task to stop' });
  });

  it('listens in a private temporary folder when the checkout path is too long for a socket', async () => {
    const w = workspace();
    made.push(w);
    const { dir: deep, status: s } = await deepCheckoutWithDaemon(w);
    pids.push(s.pid);
    expect(s.socket.startsWith(os.tmpdir())).toBe(true);
    expect(statSync(path.dirname(s.socket)).mode & 0o777).toBe(0o700);
    expect(statSync(s.socket).mode & 0o777).toBe(0o600);
    const r = await runCli(['run'], { cwd: deep, env: ON });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('t | deep');
    await runCli(['daemon', 'stop'], { cwd: deep });
  });
});

describe('slipway deploy through the daemon', () => {
  it('lands the release on a real agent as without it, and records the deployment', async () => {
    const w = workspace();
    made.push(w);
    const token = w.write('agent.token', 'daemon-deploy-token-0123456789abcdef\n');
    const agent = await startAgentOnFreePorts({ name: 't1', region: 'eu', dir: w.path('agent') }, token);
    agents.push(agent);
    w.pipeline(loneTargetPipeline(agent.url));
    w.write('dist/index.html', '<h1>one</h1>\n');
    w.write('dist/app/main.js', 'console.log(1);\n'.repeat(500));
    const before = await started(w);
    const served = await w.run(['deploy', 'prod', '--version', 'v1', '--summary', 's1.json'], { env: ON });
    expect(served.code, served.stderr).toBe(0);
    expect(served.stdout).toContain('success');
    expect((await daemonStatus(w))?.served).toBe(before.served + 1);
    const s1 = w.json<{ release: string; status: string }>('s1.json');
    expect(s1.status).toBe('success');
    const landed = (rel: string) => readFileSync(path.join(agent.dir, 'releases', s1.release, rel), 'utf8');
    expect(landed('index.html')).toBe(w.read('dist/index.html'));
    expect(landed('app/main.js')).toBe(w.read('dist/app/main.js'));
    // The same deploy without the daemon: the next release, and the daemon served nothing more.
    w.write('dist/index.html', '<h1>two</h1>\n');
    const local = await w.run(['deploy', 'prod', '--version', 'v2', '--no-daemon', '--summary', 's2.json'], {
      env: ON,
    });
    expect(local.code, local.stderr).toBe(0);
    expect((await daemonStatus(w))?.served).toBe(before.served + 1);
    const s2 = w.json<{ release: string }>('s2.json');
    expect(readFileSync(path.join(agent.dir, 'releases', s2.release, 'index.html'), 'utf8')).toBe(
      '<h1>two</h1>\n',
    );
    // Both are in the checkout's history, the daemon's one included.
    const list = await w.run(['deployments', '--json'], { env: OFF });
    expect(list.code, list.stderr).toBe(0);
    const versions = (JSON.parse(list.stdout) as { version: string }[]).map((d) => d.version);
    expect(versions).toEqual(expect.arrayContaining(['v1', 'v2']));
  });
});
