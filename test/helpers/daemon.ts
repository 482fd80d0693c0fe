/** What the daemon tests share: its status as `slipway daemon status --json` gives it, and output compared run to run. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineYaml, runCli, type Workspace } from './cli.js';

/** `slipway daemon status --json` (protocol.ts DaemonStatus). */
export interface DaemonStatus {
  pid: number;
  served: number;
  ready: number;
  build: string;
  socket: string;
}

/** The checkout's daemon, or null when none runs. */
export async function daemonStatus(
  w: Workspace,
  env: Record<string, string> = {},
): Promise<DaemonStatus | null> {
  const r = await w.run(['daemon', 'status', '--json'], { env });
  return JSON.parse(r.stdout) as DaemonStatus | null;
}

/** Output with what differs from run to run (durations, run ids, ratios) masked. */
export const sameOutput = (text: string): string =>
  text
    .replace(/\b\d+(\.\d+)?(ms|s)\b/g, '<t>')
    .replace(/\brmx[0-9a-z]+\b/g, '<run>')
    .replace(/×[\d.]+/g, '×<r>');

/**
 * A checkout inside `w` whose path is too long for a local socket address (a one-task pipeline,
 * `t` echoing "deep"), with its daemon started: the folder and the daemon's status.
 */
export async function deepCheckoutWithDaemon(w: Workspace): Promise<{ dir: string; status: DaemonStatus }> {
  const dir = w.path('a'.repeat(60), 'b'.repeat(60));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'slipway.yml'), pipelineYaml({ t: { run: 'echo deep' } }));
  const start = await runCli(['daemon', 'start'], { cwd: dir });
  if (start.code !== 0) throw new Error(`daemon start failed (exit ${start.code}): ${start.stderr}`);
  const status = JSON.parse(
    (await runCli(['daemon', 'status', '--json'], { cwd: dir })).stdout,
  ) as DaemonStatus;
  return { dir, status };
}
