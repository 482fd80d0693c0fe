/** What the daemon tests share: its status as `slipway daemon status --json` gives it, and output compared run to run. */
import type { Workspace } from './cli.js';

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
