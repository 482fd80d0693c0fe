/**
 * One deployment (or rollback) per environment at a time (issue 10, defect 5): the store's lease
 * first, then every agent's deploy lock, both renewed by a heartbeat until released. The agents'
 * locks are asked for all at once (one round trip in all before the first byte moves, not one per
 * agent: across a network each is a full round trip); only when a live deployment holds one of
 * them are those just taken given back and the locks taken again one by one in a fixed order,
 * waiting where held, so that two deployers with different stores cannot deadlock (neither waits
 * while holding a lock out of that order). A holder whose process is dead is taken over; a live
 * one is waited for (with a message naming it) or, with `wait: false`, refused. A lone host's deploy takes its agent's lock when first needed instead
 * (first-change-hold.ts `lazy`): its redeploy exchange takes and gives it back itself.
 */
import type { LeaseQueries } from '../store/leases.js';
import { err, ok, type Result } from '../util/result.js';
import { AgentClient } from './agent-client.js';
import type { Environment } from './environment.js';
import { FirstChangeHold } from './first-change-hold.js';
import { acquireLease, type Lease, releaseLease, renewLease } from './lease.js';
import { currentOwner, describeOwner } from './owner.js';

/** How long a lease or agent lock lasts without renewal; renewed every quarter of it. */
const LEASE_TTL_MS = 60_000;
const POLL_MS = 500;

/** Why the environment is not (yet) held; the CLI words it (cli/hold-environment.ts). */
export type HoldRefusal =
  /** Another live deployment holds the store's lease on the environment. */
  | { reason: 'leased'; environment: string; holder: Lease }
  /** An agent's deploy lock is held by another deployment (one sharing no store with us). */
  | { reason: 'agent-locked'; target: string; detail: string };

/** A refusal, and whether it ended the attempt because waiting was aborted (Ctrl-C). */
export type HoldFailure = HoldRefusal & { gaveUp: boolean };
type AgentLockFailure = Extract<HoldRefusal, { reason: 'agent-locked' }> & { gaveUp: boolean };

export interface HeldEnvironment {
  deploymentId: string;
  /** Agent clients carrying the lock, by target name. */
  clients: Map<string, AgentClient>;
  /** Set when the lease was taken over from a deployment whose process had died. */
  tookOver?: Lease;
  /** Aborted when the lease is lost (another deployer took it over while this one stalled). */
  lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * Takes the environment for `deploymentId`. `isDead(id)` says whether a deployment that holds an
 * agent's lock is known to the store as finished or interrupted (then it is taken over).
 */
export async function holdEnvironment(opts: {
  leases: LeaseQueries;
  env: Environment;
  deploymentId: string;
  wait: boolean;
  isDead: (holder: string) => Promise<boolean>;
  /** Told once per distinct holder that is being waited for. */
  onWait: (refusal: HoldRefusal) => void;
  signal?: AbortSignal;
  /**
   * Agents' locks taken when first needed, not now (first-change-hold.ts): a lone host's deploy,
   * whose redeploy exchange takes and gives back the lock itself. The store's lease is taken now.
   */
  lazy?: boolean;
}): Promise<Result<HeldEnvironment, HoldFailure>> {
  const { leases, env, deploymentId } = opts;
  const owner = currentOwner();
  const ownerText = `${describeOwner(owner)}, since ${new Date().toISOString().slice(11, 19)}`;
  let said = '';
  const waiting = (refusal: HoldRefusal) => {
    // A holder renewing its lease is still the same holder.
    const key =
      refusal.reason === 'leased'
        ? `${refusal.holder.deploymentId}\0${refusal.holder.acquiredAt}`
        : `${refusal.target}\0${refusal.detail}`;
    if (key !== said) opts.onWait(refusal);
    said = key;
  };

  let tookOver: Lease | undefined;
  for (;;) {
    const r = await acquireLease(leases, { environment: env.name, deploymentId, owner, ttlMs: LEASE_TTL_MS });
    if (r.ok) {
      tookOver = r.value.tookOver;
      break;
    }
    const refusal: HoldRefusal = { reason: 'leased', environment: env.name, holder: r.error };
    if (!opts.wait) return err({ ...refusal, gaveUp: false });
    waiting(refusal);
    if (!(await pause(opts.signal))) return err({ ...refusal, gaveUp: true });
  }

  const clients = new Map<string, AgentClient>();
  const targets = env.regions.flatMap((r) => r.targets).sort((a, b) => (a.agentUrl < b.agentUrl ? -1 : 1));
  for (const t of targets) {
    const c = new AgentClient(t.agentUrl, t.token);
    c.holder = deploymentId;
    clients.set(t.name, c);
  }
  const locked = new Set<AgentClient>();
  const giveUp = async (failure: HoldFailure) => {
    await Promise.all([...locked].map((c) => c.unlock(deploymentId)));
    await releaseLease(leases, { environment: env.name, deploymentId });
    return err(failure);
  };
  /** Takes one agent's lock, waiting for a live holder when `wait`; the refusal if not taken. */
  const lockAgent = async (
    name: string,
    c: AgentClient,
    wait: boolean,
  ): Promise<AgentLockFailure | undefined> => {
    // The lock is asked for first: an agent nobody holds (the usual case) takes one round trip.
    // Refused, its status names the holder, whose lock is taken over when it is the deployment
    // whose lease this one took over or a process that is gone.
    let asked = false;
    for (;;) {
      let takeOver: string | undefined;
      if (asked) {
        const status = await c.status();
        const holder = status.ok ? status.value.lock?.holder : undefined;
        takeOver =
          holder &&
          holder !== deploymentId &&
          (holder === tookOver?.deploymentId || (await opts.isDead(holder)))
            ? holder
            : undefined;
      }
      const r = await c.lock({ holder: deploymentId, owner: ownerText, ttlMs: LEASE_TTL_MS, takeOver });
      if (r.ok) break;
      // Refused by a holder that may be taken over: ask again at once, with its status.
      if (!asked && r.error.reason !== 'error') {
        asked = true;
        continue;
      }
      // An agent that cannot be reached is not locked against us: staging reports it per host.
      if (r.error.reason === 'error') break;
      const refusal: HoldRefusal = {
        reason: 'agent-locked',
        target: name,
        detail: r.error.message.replace(/^.*answered 409: /, ''),
      };
      if (!wait) return { ...refusal, gaveUp: false };
      waiting(refusal);
      if (!(await pause(opts.signal))) return { ...refusal, gaveUp: true };
    }
    locked.add(c);
    return undefined;
  };
  if (opts.lazy) {
    for (const t of targets) {
      const c = clients.get(t.name)!;
      c.hold = new FirstChangeHold({
        owner: describeOwner(owner),
        ttlMs: LEASE_TTL_MS,
        take: async () => {
          const f = await lockAgent(t.name, c, opts.wait);
          return f
            ? err(`agent ${f.target}: ${f.detail}${f.gaveUp ? '; gave up waiting' : ''}`)
            : ok(undefined);
        },
        onHeld: (held) => (held ? locked.add(c) : locked.delete(c)),
      });
    }
  } else {
    // All at once, none waited for: the refusals in the fixed order.
    const refusals = await Promise.all(targets.map((t) => lockAgent(t.name, clients.get(t.name)!, false)));
    const refused = refusals.find((f) => f !== undefined);
    if (refused && !opts.wait) return giveUp(refused);
    if (refused) {
      // A live holder to wait for: given back, then taken in order (see above).
      await Promise.all([...locked].map((c) => c.unlock(deploymentId)));
      locked.clear();
      for (const t of targets) {
        const failure = await lockAgent(t.name, clients.get(t.name)!, true);
        if (failure) return giveUp(failure);
      }
    }
  }

  const lost = new AbortController();
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      const mine = await renewLease(leases, { environment: env.name, deploymentId }, LEASE_TTL_MS).catch(
        () => true,
      );
      if (!mine) lost.abort(new Error(`the lease on ${env.name} was taken over`));
      await Promise.all(
        [...locked].map((c) => c.lock({ holder: deploymentId, owner: ownerText, ttlMs: LEASE_TTL_MS })),
      );
    });
  }, LEASE_TTL_MS / 4);
  timer.unref();

  return ok({
    deploymentId,
    clients,
    tookOver,
    lost: lost.signal,
    release: async () => {
      clearInterval(timer);
      await renewing;
      await Promise.all([...locked].map((c) => c.unlock(deploymentId)));
      await releaseLease(leases, { environment: env.name, deploymentId });
    },
  });
}

/** Waits one poll interval; false when the signal aborted. */
function pause(signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve(true);
    }, POLL_MS);
    const stop = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
