/**
 * The daemon's native client (src/daemon/client.c), end to end: bin/slipway.js executed as a user's
 * shell does, so its /bin/sh launcher runs dist/cli/slipway-client. A fully cached run and a
 * failing one print the same output and exit code as through the Node.js client; a reader that
 * stops early (`| head -1`) ends it quietly; Ctrl-C reaches the command's tasks; with no daemon,
 * or a daemon of another build, the command still runs (in Node.js) and this build's daemon
 * starts for the next one; other commands go straight to Node.js.
 *
 * Which runs reached Node.js is seen through a `node` first on PATH that logs its arguments and
 * execs the real one (the launcher and the native client's fallback find Node.js on PATH; the
 * daemon and its spares use the running Node.js by path, which this does not see).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  killTree,
  pipelineYaml,
  readPid,
  runCli,
  SLIPWAY_BIN,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';
import { type DaemonStatus, daemonStatus, deepCheckoutWithDaemon, sameOutput } from '../helpers/daemon.js';

const ROOT = path.resolve(path.dirname(SLIPWAY_BIN), '..');
const NATIVE = path.join(ROOT, 'dist', 'cli', 'slipway-client');
const compiler = process.env.CC || 'cc';
const hasCompiler = spawnSync('sh', ['-c', `command -v ${compiler}`]).status === 0;
if (!hasCompiler) console.warn(`native-client tests skipped: no C compiler (${compiler}) on this machine`);

const made: Workspace[] = [];
const pids: number[] = [];
const temps: string[] = [];
afterAll(async () => {
  for (const w of made) await w.run(['daemon', 'stop']);
  for (const p of pids) killTree(p);
  for (const w of made) w.cleanup();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A `node` first on PATH that appends its arguments to a log, then runs the real Node.js. */
const fakeNodeDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-fake-node-'));
temps.push(fakeNodeDir);
const nodeLog = path.join(fakeNodeDir, 'calls.log');
writeFileSync(
  path.join(fakeNodeDir, 'node'),
  `#!/bin/sh\necho "$*" >> '${nodeLog}'\nexec '${process.execPath}' "$@"\n`,
);
chmodSync(path.join(fakeNodeDir, 'node'), 0o755);
const PATH_WITH_LOG = `${fakeNodeDir}${path.delimiter}${process.env.PATH ?? ''}`;
/** Node.js started through PATH since the last call (by the launcher or the native client). */
function nodeCalls(): string[] {
  if (!existsSync(nodeLog)) return [];
  const lines = readFileSync(nodeLog, 'utf8').trim().split('\n').filter(Boolean);
  rmSync(nodeLog);
  return lines;
}

const ON = { SLIPWAY_DAEMON: '1', PATH: PATH_WITH_LOG };

/** Waits until the checkout has a daemon with a spare ready; returns its status. */
async function warm(w: Workspace): Promise<DaemonStatus> {
  for (const until = Date.now() + 60_000; Date.now() < until; ) {
    const s = await daemonStatus(w);
    if (s && !pids.includes(s.pid)) pids.push(s.pid);
    if (s && s.ready > 0) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out after 60 s waiting for a daemon with a spare ready');
}

async function started(w: Workspace): Promise<DaemonStatus> {
  const r = await w.run(['daemon', 'start']);
  expect(r.code, r.stderr).toBe(0);
  return warm(w);
}

function project(tasks: Parameters<typeof pipelineYaml>[0]): Workspace {
  const w = workspace(pipelineYaml(tasks));
  made.push(w);
  return w;
}

describe.skipIf(!hasCompiler)('the native client (bin/slipway.js executed directly)', () => {
  it('is built by npm run build', () => {
    expect(existsSync(NATIVE)).toBe(true);
  });

  it('prints the same output and exit code as the Node.js client for a fully cached run, without starting Node.js', async () => {
    const w = project({
      lib: { run: 'mkdir -p dist && echo lib > dist/lib.txt && echo built lib', outputs: ['dist/**'] },
      app: { run: 'echo app; echo warn >&2', needs: ['lib'] },
    });
    expect((await w.run(['run'])).code).toBe(0);
    expect((await w.run(['run'])).code).toBe(0);
    const before = await started(w);
    nodeCalls();
    const native = await w.run(['run'], { env: ON, direct: true });
    expect(native.code, native.stderr).toBe(0);
    expect(nodeCalls()).toEqual([]);
    await warm(w);
    const viaNode = await w.run(['run'], { env: ON });
    expect(viaNode.code).toBe(0);
    expect(native.stdout).toContain('2 cached');
    expect(sameOutput(native.stdout)).toBe(sameOutput(viaNode.stdout));
    expect(sameOutput(native.stderr)).toBe(sameOutput(viaNode.stderr));
    // Both were the daemon's (the build ids of the two clients agree).
    expect((await daemonStatus(w))?.served).toBe(before.served + 2);
  });

  it("passes a failing task's exit code and output through", async () => {
    const w = project({
      ok: { run: 'echo fine' },
      bad: { run: 'echo about to fail; echo boom >&2; exit 3', needs: ['ok'] },
    });
    expect((await w.run(['run'])).code).toBe(1);
    await started(w);
    const native = await w.run(['run'], { env: ON, direct: true });
    await warm(w);
    const viaNode = await w.run(['run'], { env: ON });
    expect(native.code).toBe(1);
    expect(native.stdout).toContain('boom');
    expect(sameOutput(native.stdout)).toBe(sameOutput(viaNode.stdout));
    expect(sameOutput(native.stderr)).toBe(sameOutput(viaNode.stderr));
    expect((await daemonStatus(w))?.served).toBe(2);
  });

  it('ends quietly with exit code 0 when its reader stops early (| head -1)', async () => {
    // A cached replay far larger than a pipe's buffer, so that writes after head exits fail.
    const w = project({
      loud: { run: 'i=0; while [ $i -lt 20000 ]; do echo "line $i of a long log"; i=$((i+1)); done' },
    });
    expect((await w.run(['run'])).code).toBe(0);
    await started(w);
    const withHead = spawnSync(
      'sh',
      [
        '-c',
        '{ "$1" run 2>"$2"; echo $? > "$3"; } | head -1',
        'sh',
        SLIPWAY_BIN,
        w.path('err2.txt'),
        w.path('rc2.txt'),
      ],
      { cwd: w.dir, encoding: 'utf8', env: { ...process.env, ...ON, CI: '1', NO_COLOR: '1' } },
    );
    expect(withHead.stdout.trim().split('\n')).toHaveLength(1);
    expect(w.read('rc2.txt').trim()).toBe('0');
    expect(w.read('err2.txt')).toBe('');
    expect((await daemonStatus(w))?.served).toBe(1);
  });

  it('forwards Ctrl-C to the command: its tasks stop and the exit code is the interrupted one', async () => {
    const w = project({ long: { run: 'echo $$ > long.pid; exec sleep 30', cache: false } });
    await started(w);
    nodeCalls();
    const cli = w.spawn(['run'], { env: ON, direct: true });
    const pid = await waitFor(() => readPid(w.path('long.pid')), { what: 'the task to start' });
    pids.push(pid);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('SIGINT received, stopping tasks');
    await waitFor(() => !isAlive(pid) || undefined, { what: 'the task to stop' });
    expect(nodeCalls()).toEqual([]);
  });

  it('runs the command in Node.js when no daemon runs, and starts one for the next command', async () => {
    const w = project({ t: { run: 'echo hello' } });
    expect(await daemonStatus(w)).toBeNull();
    nodeCalls();
    const first = await w.run(['run'], { env: ON, direct: true });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('t | hello');
    expect(nodeCalls()).toEqual([`${SLIPWAY_BIN} run`]);
    const s = await warm(w);
    expect(s.served).toBe(0);
    const second = await w.run(['run'], { env: ON, direct: true });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('t cache hit');
    expect(nodeCalls()).toEqual([]);
    expect((await daemonStatus(w))?.served).toBe(1);
  });

  it('hands other commands, and run with --no-daemon, straight to Node.js', async () => {
    const w = project({ t: { run: 'echo hi' } });
    expect((await w.run(['run'])).code).toBe(0);
    const s = await started(w);
    nodeCalls();
    const history = await w.run(['history'], { env: ON, direct: true });
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('success');
    const help = await w.run(['--help'], { env: ON, direct: true });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: slipway/);
    const local = await w.run(['run', '--no-daemon'], { env: ON, direct: true });
    expect(local.code).toBe(0);
    // Under CI (set by the test rig) without SLIPWAY_DAEMON=1, the daemon is off.
    const underCi = await w.run(['run'], {
      env: { PATH: PATH_WITH_LOG, SLIPWAY_DAEMON: undefined },
      direct: true,
    });
    expect(underCi.code).toBe(0);
    expect(nodeCalls()).toEqual([
      `${SLIPWAY_BIN} history`,
      `${SLIPWAY_BIN} --help`,
      `${SLIPWAY_BIN} run --no-daemon`,
      `${SLIPWAY_BIN} run`,
    ]);
    expect((await daemonStatus(w))?.served).toBe(s.served);
    // Global options before the command, as command-line.ts reads them: still the daemon's.
    await warm(w);
    const plan = await w.run(['-f', 'slipway.yml', 'plan'], { env: ON, direct: true });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('1 cached');
    expect(nodeCalls()).toEqual([]);
    expect((await daemonStatus(w))?.served).toBe(s.served + 1);
  });

  it('leaves a checkout whose socket path is too long to the Node.js client, which the daemon serves', async () => {
    const w = workspace();
    made.push(w);
    const { dir: deep, status: s } = await deepCheckoutWithDaemon(w);
    pids.push(s.pid);
    nodeCalls();
    const r = await runCli(['run'], { cwd: deep, env: ON, direct: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('t | deep');
    expect(nodeCalls()).toEqual([`${SLIPWAY_BIN} run`]);
    const after = JSON.parse(
      (await runCli(['daemon', 'status', '--json'], { cwd: deep })).stdout,
    ) as DaemonStatus;
    expect(after.served).toBe(1);
    await runCli(['daemon', 'stop'], { cwd: deep });
  });

  it('runs the command in Node.js when the daemon is of another build, which steps down for a new one', async () => {
    const w = project({ t: { run: 'echo t' } });
    // Another build: a copy of the CLI (its files have other mtimes).
    const other = mkdtempSync(path.join(os.tmpdir(), 'slipway-other-build-'));
    temps.push(other);
    cpSync(path.join(ROOT, 'dist', 'cli'), path.join(other, 'dist', 'cli'), { recursive: true });
    cpSync(path.join(ROOT, 'bin'), path.join(other, 'bin'), { recursive: true });
    cpSync(path.join(ROOT, 'package.json'), path.join(other, 'package.json'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(other, 'node_modules'));
    const otherBin = path.join(other, 'bin', 'slipway.js');
    const r0 = spawnSync(process.execPath, [otherBin, 'daemon', 'start'], { cwd: w.dir, encoding: 'utf8' });
    expect(r0.status, r0.stderr).toBe(0);
    const old = await warm(w);

    nodeCalls();
    const r = await w.run(['run'], { env: ON, direct: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('t | t');
    expect(nodeCalls()).toEqual([`${SLIPWAY_BIN} run`]);
    await waitFor(() => !isAlive(old.pid) || undefined, { what: 'the stale daemon to exit' });
    const now = await warm(w);
    expect(now.pid).not.toBe(old.pid);
    expect(now.build).not.toBe(old.build);
    // And the next command is this build's daemon's, through the native client.
    const next = await w.run(['run'], { env: ON, direct: true });
    expect(next.code, next.stderr).toBe(0);
    expect(nodeCalls()).toEqual([]);
    expect((await daemonStatus(w))?.served).toBe(1);
  });
});
