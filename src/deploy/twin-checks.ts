/**
 * The twin checks a deployer asks of its agents as it starts (agent/twins.ts), sent before the
 * walk: the walk's listing holds the deployer's thread (20,000 lstat calls: ~100 ms), and a
 * request not on its way by then reaches its agent only after the listing. The agent's check
 * then ran after the walk instead of beside it, and the stage request that followed waited for
 * it: 65-250 ms of an unchanged redeploy of 20,000 files, measured cold.
 */
import type { AgentClient } from './agent-client.js';

/** A host's twin check under way: its answer (an error from an older agent changes nothing). */
export type TwinCheck = ReturnType<AgentClient['twinCheck']>;

/**
 * How long the walk waits at most for the checks to be sent (a loopback or LAN connection and
 * one small request: a few milliseconds in a fresh process) before it starts anyway.
 */
const TWIN_CHECK_SEND_MS = 20;

/**
 * Asks each of `clients` for its twin check: each host's check, and `sent`, which resolves once
 * every request has been handed to the kernel or has failed (or after `waitMs` at most).
 */
export function sendTwinChecks(
  clients: ReadonlyMap<string, AgentClient>,
  waitMs = TWIN_CHECK_SEND_MS,
): { checks: Map<string, TwinCheck>; sent: Promise<void> } {
  const sending: Promise<void>[] = [];
  const checks = new Map<string, TwinCheck>();
  for (const [name, client] of clients) {
    let sent = () => {};
    sending.push(new Promise<void>((r) => (sent = r)));
    const check = client.twinCheck(() => sent());
    // A failed call (a refused connection) is never sent: it settles instead.
    void check.then(() => sent());
    checks.set(name, check);
  }
  return { checks, sent: settledWithin(sending, waitMs) };
}

/** Resolves once all of `promises` have, or after `ms` at most. */
async function settledWithin(promises: Promise<void>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(r, ms);
  });
  try {
    await Promise.race([Promise.all(promises), late]);
  } finally {
    clearTimeout(timer);
  }
}
