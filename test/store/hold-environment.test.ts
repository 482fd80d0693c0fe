/**
 * Holding an environment through the store's lease and real in-process agents: a refusal is a
 * typed value naming who holds what, a refused or abandoned attempt leaves neither the lease nor
 * an agent lock behind, a held environment is released whole, several agents' locks are asked
 * for at once (and taken in order, waiting, only when one is held), and a lone host's lock taken
 * lazily (at the first change, or by its deploy exchange itself) is waited for and given back alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentClient } from '../../src/deploy/agent-client.js';
import type { Environment } from '../../src/deploy/environment.js';
import { type HoldRefusal, holdEnvironment } from '../../src/deploy/exclusive.js';
import { acquireLease } from '../../src/deploy/lease.js';
import { diffManifest } from '../../src/deploy/manifest-delta.js';
import { currentOwner } from '../../src/deploy/owner.js';
import { DEPLOY_PROTOCOL } from '../../src/deploy/protocol.js';
import { openStore, type Store } from '../../src/store/store.js';
import { type AgentRig, startAgentRig } from '../helpers/agent-rig.js';
import { oneRegionEnvironment } from '../helpers/deploy-environment.js';

const TOKEN = 'hold-token-0123456789';

let rig: AgentRig;
/** A second agent, for the environments of two hosts. */
let rig2: AgentRig;
let store: Store;
let storeRoot: string;

beforeAll(async () => {
  rig = await startAgentRig({ prefix: 'slipway-hold-', token: TOKEN });
  rig2 = await startAgentRig({ prefix: 'slipway-hold2-', token: TOKEN });
  storeRoot = mkdtempSync(path.join(os.tmpdir(), 'slipway-hold-store-'));
  store = await openStore({ root: storeRoot });
});
afterAll(async () => {
  await store?.close();
  await rig?.close();
  await rig2?.close();
  if (storeRoot) rmSync(storeRoot, { recursive: true, force: true });
});

const environment = (name: string): Environment =>
  oneRegionEnvironment({
    name,
    artifact: 'dist',
    token: TOKEN,
    agentUrls: [rig.url],
    stageParallelism: 1,
    minSamples: 0,
  });

/** An environment of both agents. */
const twoHosts = (name: string): Environment =>
  oneRegionEnvironment({
    name,
    artifact: 'dist',
    token: TOKEN,
    agentUrls: [rig.url, rig2.url],
    stageParallelism: 1,
    minSamples: 0,
  });

/** Who holds each of the two agents' locks (undefined: nobody). */
const lockHolders = async () =>
  Promise.all(
    [rig, rig2].map(async (r) => {
      const s = await r.client.status();
      if (!s.ok) throw new Error(s.error);
      return s.value.lock?.holder;
    }),
  );

const hold = (
  env: Environment,
  deploymentId: string,
  o: { wait: boolean; signal?: AbortSignal; lazy?: boolean },
) => {
  const waits: HoldRefusal[] = [];
  const result = holdEnvironment({
    leases: store.leases,
    env,
    deploymentId,
    wait: o.wait,
    isDead: async () => false,
    onWait: (r) => waits.push(r),
    signal: o.signal,
    lazy: o.lazy,
  });
  return { result, waits };
};

describe('holdEnvironment', () => {
  it('holds the lease and the agent lock, and releases both', async () => {
    const env = environment('h-ok');
    const { result } = hold(env, 'd-ok', { wait: false });
    const r = await result;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((await store.leases.read('h-ok'))?.deployment_id).toBe('d-ok');
    const status = await rig.client.status();
    expect(status.ok && status.value.lock?.holder).toBe('d-ok');
    await r.value.release();
    expect(await store.leases.read('h-ok')).toBeUndefined();
    const after = await rig.client.status();
    expect(after.ok && after.value.lock).toBeFalsy();
  });

  it('is refused with the live holder of the lease, and gives up when its wait is aborted', async () => {
    const env = environment('h-leased');
    const taken = await acquireLease(store.leases, {
      environment: 'h-leased',
      deploymentId: 'd-first',
      owner: currentOwner(),
      ttlMs: 60_000,
    });
    expect(taken.ok).toBe(true);
    const refused = await hold(env, 'd-second', { wait: false }).result;
    expect(refused.ok ? undefined : refused.error).toMatchObject({
      reason: 'leased',
      environment: 'h-leased',
      holder: { deploymentId: 'd-first' },
      gaveUp: false,
    });

    const abort = new AbortController();
    const waiting = hold(env, 'd-third', { wait: true, signal: abort.signal });
    // Waiting is announced once, then the wait is abandoned.
    await expect.poll(() => waiting.waits.length, { timeout: 60_000 }).toBe(1);
    abort.abort();
    const gaveUp = await waiting.result;
    expect(gaveUp.ok ? undefined : gaveUp.error).toMatchObject({ reason: 'leased', gaveUp: true });
    expect(waiting.waits).toEqual([expect.objectContaining({ reason: 'leased' })]);
    expect((await store.leases.read('h-leased'))?.deployment_id).toBe('d-first');
  });

  it('is refused with the agent whose lock another deployer holds, and gives its lease back', async () => {
    const env = environment('h-agent');
    const foreign = await rig.client.lock({ holder: 'd-elsewhere', owner: 'another store', ttlMs: 60_000 });
    expect(foreign.ok).toBe(true);
    try {
      const refused = await hold(env, 'd-here', { wait: false }).result;
      expect(refused.ok ? undefined : refused.error).toMatchObject({
        reason: 'agent-locked',
        target: 't1',
        gaveUp: false,
      });
      // Nothing of the refused attempt stays behind.
      expect(await store.leases.read('h-agent')).toBeUndefined();
    } finally {
      await rig.client.unlock('d-elsewhere');
    }
  });

  it('asks every agent for its lock at once, and releases them all', async () => {
    // Each lock's answer is held back until every lock has been asked for: taken one after the
    // other, the second would never be asked (the deadline below says so instead of hanging).
    const took = AgentClient.prototype.lock;
    let asked = 0;
    let allAsked = () => {};
    const everyoneAsked = new Promise<void>((resolve) => {
      allAsked = resolve;
    });
    let oneByOne = false;
    const spied = vi.spyOn(AgentClient.prototype, 'lock').mockImplementation(async function (
      this: AgentClient,
      req,
    ) {
      if (++asked === 2) allAsked();
      await Promise.race([
        everyoneAsked,
        new Promise<void>((resolve) =>
          setTimeout(() => {
            oneByOne = true;
            resolve();
          }, 30_000),
        ),
      ]);
      return took.call(this, req);
    });
    try {
      const r = await hold(twoHosts('h-two'), 'd-two', { wait: false }).result;
      expect(oneByOne).toBe(false);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      expect(await lockHolders()).toEqual(['d-two', 'd-two']);
      await r.value.release();
      expect(await lockHolders()).toEqual([undefined, undefined]);
      expect(await store.leases.read('h-two')).toBeUndefined();
    } finally {
      spied.mockRestore();
    }
  });

  it('refused by one of several agents without waiting: gives back every lock it took, and its lease', async () => {
    const foreign = await rig2.client.lock({ holder: 'd-elsewhere', owner: 'another store', ttlMs: 60_000 });
    expect(foreign.ok).toBe(true);
    try {
      const r = await hold(twoHosts('h-two-refused'), 'd-refused', { wait: false }).result;
      expect(r.ok ? undefined : r.error).toMatchObject({
        reason: 'agent-locked',
        target: 't2',
        gaveUp: false,
      });
      expect(await lockHolders()).toEqual([undefined, 'd-elsewhere']);
      expect(await store.leases.read('h-two-refused')).toBeUndefined();
    } finally {
      await rig2.client.unlock('d-elsewhere');
    }
  });

  it('one of several agents held by a live deployment: waits for it, then holds them all', async () => {
    const foreign = await rig2.client.lock({ holder: 'd-elsewhere', owner: 'another store', ttlMs: 60_000 });
    expect(foreign.ok).toBe(true);
    const waiting = hold(twoHosts('h-two-wait'), 'd-waits', { wait: true });
    await expect.poll(() => waiting.waits.length, { timeout: 60_000 }).toBe(1);
    expect(waiting.waits[0]).toMatchObject({ reason: 'agent-locked', target: 't2' });
    await rig2.client.unlock('d-elsewhere');
    const r = await waiting.result;
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(await lockHolders()).toEqual(['d-waits', 'd-waits']);
    await r.value.release();
    expect(await lockHolders()).toEqual([undefined, undefined]);
  });

  it('lazy (a lone host): takes the agent lock at the first call that changes the host, and gives it back', async () => {
    const env = environment('h-lazy');
    const r = await hold(env, 'd-lazy', { wait: true, lazy: true }).result;
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect((await store.leases.read('h-lazy'))?.deployment_id).toBe('d-lazy');
    const before = await rig.client.status();
    expect(before.ok && before.value.lock).toBeFalsy();
    const c = r.value.clients.get('t1')!;
    expect((await c.copyAhead(['nothing.bin'])).ok).toBe(true);
    const during = await rig.client.status();
    expect(during.ok && during.value.lock?.holder).toBe('d-lazy');
    await r.value.release();
    const after = await rig.client.status();
    expect(after.ok && after.value.lock).toBeFalsy();
    expect(await store.leases.read('h-lazy')).toBeUndefined();
  });

  it('lazy: a redeploy exchange takes and gives back the lock itself; no unlock follows', async () => {
    const files = { 'index.html': 'hello' };
    const v1 = await rig.deploy('v1', files);
    const v2 = await rig.artifact('v2', files);
    const d = diffManifest(v1.manifest, v1.release, v2.manifest);
    const r = await hold(environment('h-lazy-exchange'), 'd-exchange', { wait: true, lazy: true }).result;
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const c = r.value.clients.get('t1')!;
    const locks: string[] = [];
    const took = rig.agent.lock.acquire.bind(rig.agent.lock);
    const spied = vi.spyOn(rig.agent.lock, 'acquire').mockImplementation((req) => {
      locks.push(req.holder);
      return took(req);
    });
    const unlock = vi.spyOn(c, 'unlock');
    try {
      const x = await c.deploy(
        { protocol: DEPLOY_PROTOCOL, release: v2.release, base: d.base, keep: 2 },
        { last: true },
      );
      expect(x.kind === 'answered' && x.line).toEqual({ type: 'done' });
      // Taken by the exchange (no POST /v1/lock), and not held after it.
      expect(locks).toEqual(['d-exchange']);
      const after = await rig.client.status();
      expect(after.ok && after.value.current).toBe(v2.release);
      expect(after.ok && after.value.lock).toBeFalsy();
      await r.value.release();
      expect(unlock).not.toHaveBeenCalled();
    } finally {
      spied.mockRestore();
      await v2.origin.close();
    }
  });

  it('lazy: a live holder met at the first change is waited for, then the change goes ahead', async () => {
    const foreign = await rig.client.lock({ holder: 'd-elsewhere', owner: 'another store', ttlMs: 60_000 });
    expect(foreign.ok).toBe(true);
    const waiting = hold(environment('h-lazy-wait'), 'd-patient', { wait: true, lazy: true });
    const r = await waiting.result;
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const c = r.value.clients.get('t1')!;
    const change = c.copyAhead(['nothing.bin']);
    await expect.poll(() => waiting.waits.length, { timeout: 60_000 }).toBe(1);
    expect(waiting.waits[0]).toMatchObject({ reason: 'agent-locked', target: 't1' });
    await rig.client.unlock('d-elsewhere');
    expect((await change).ok).toBe(true);
    const during = await rig.client.status();
    expect(during.ok && during.value.lock?.holder).toBe('d-patient');
    await r.value.release();
    const after = await rig.client.status();
    expect(after.ok && after.value.lock).toBeFalsy();
  });
});
