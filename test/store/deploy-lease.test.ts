/**
 * The environment lease and interrupted deployments, on SQLite and PostgreSQL (issue 10, defects
 * 4 and 5): of deployers racing for one environment through separate connections exactly one
 * wins; a holder whose process is dead (or whose pid now names another process) is taken over,
 * a live one never; `markInterrupted` closes only deployments whose process is gone; the
 * rollback target after an interrupted deployment is the release live before it.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLease, readLease, releaseLease } from '../../src/deploy/lease.js';
import { currentOwner } from '../../src/deploy/owner.js';
import { markInterrupted, rollbackTarget } from '../../src/deploy/records.js';
import type { DeploymentsTable } from '../../src/store/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { scratchPostgres } from '../helpers/postgres.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const postgresUrl = scratchPostgres('lease');

/** A pid that has just exited (so it is certainly not running now). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
    encoding: 'utf8',
  }).stdout.trim() as unknown as number;
}

function deployment(id: string, over: Partial<DeploymentsTable>): DeploymentsTable {
  return {
    id,
    kind: 'deploy',
    environment: 'prod',
    version: id,
    release: `${id}-000000000000`,
    status: 'success',
    started_at: 0,
    ended_at: null,
    duration_ms: null,
    git_sha: null,
    git_commit_at: null,
    artifact_bytes: 0,
    bytes_sent: 0,
    origin_egress_bytes: 0,
    chunks_total: 0,
    chunks_reused: 0,
    relay: 0,
    reason: null,
    owner_pid: null,
    owner_host: null,
    owner_start: null,
    ...over,
  };
}

// The SQLite suite's folder, removed after the file's tests (each closes the stores it opens).
const sqliteFolder = tempDirs('all');
const sqliteRoot = () => sqliteFolder('slipway-lease-');

function suite(name: string, open: () => Promise<Store | undefined>) {
  describe(name, () => {
    it('lets exactly one of several racing deployers take the lease', async () => {
      const stores = [await open(), await open(), await open()];
      if (!stores[0]) return;
      try {
        for (let round = 0; round < 5; round++) {
          const env = `race-${round}`;
          const results = await Promise.all(
            stores.map((s, i) =>
              acquireLease(s!.leases, {
                environment: env,
                deploymentId: `d-${round}-${i}`,
                owner: currentOwner(),
                ttlMs: 60_000,
              }),
            ),
          );
          expect(results.filter((r) => r.ok)).toHaveLength(1);
          const winner = results.findIndex((r) => r.ok);
          for (const r of results) if (!r.ok) expect(r.error.deploymentId).toBe(`d-${round}-${winner}`);
        }
      } finally {
        for (const s of stores) await s!.close();
      }
    });

    it('takes over a dead or reused-pid holder, never a live one', async () => {
      const s = await open();
      if (!s) return;
      try {
        const me = currentOwner();
        const take = (id: string) =>
          acquireLease(s.leases, { environment: 'prod', deploymentId: id, owner: me, ttlMs: 60_000 });
        const holders = [
          { pid: Number(deadPid()), host: os.hostname(), start: '' },
          { pid: process.pid, host: os.hostname(), start: 'not-this-process' },
        ];
        for (const [i, owner] of holders.entries()) {
          await releaseLease(s.leases, {
            environment: 'prod',
            deploymentId: (await readLease(s.leases, 'prod'))?.deploymentId ?? '',
          });
          expect(
            (
              await acquireLease(s.leases, {
                environment: 'prod',
                deploymentId: `dead-${i}`,
                owner,
                ttlMs: 60_000,
              })
            ).ok,
          ).toBe(true);
          const r = await take(`next-${i}`);
          expect(r.ok && r.value.tookOver?.deploymentId).toBe(`dead-${i}`);
          // The new holder is this live process: nobody takes it over.
          const refused = await take(`third-${i}`);
          expect(refused.ok ? 'taken' : refused.error.deploymentId).toBe(`next-${i}`);
        }
        // On another host only the expiry tells: live until it runs out.
        await releaseLease(s.leases, { environment: 'prod', deploymentId: 'next-1' });
        const far = { pid: 1, host: 'some-other-host', start: '' };
        await acquireLease(s.leases, { environment: 'prod', deploymentId: 'far', owner: far, ttlMs: 60_000 });
        expect((await take('near')).ok).toBe(false);
        await releaseLease(s.leases, { environment: 'prod', deploymentId: 'far' });
        await acquireLease(s.leases, { environment: 'prod', deploymentId: 'far2', owner: far, ttlMs: -1 });
        expect((await take('near2')).ok).toBe(true);
      } finally {
        await s.close();
      }
    });

    it('marks only dead deployments interrupted, and rolls back to the release live before', async () => {
      const s = await open();
      if (!s) return;
      try {
        const env = 'staging';
        const me = currentOwner();
        const rows = [
          deployment('v1', { environment: env, started_at: 1 }),
          deployment('v2', { environment: env, started_at: 2 }),
          deployment('v3', {
            environment: env,
            started_at: 3,
            status: 'running',
            owner_pid: Number(deadPid()),
            owner_host: os.hostname(),
            owner_start: '',
          }),
        ];
        for (const r of rows) await s.deployments.start(r, []);
        // A live deployment (this process, holding the lease) stays running.
        const lease = await acquireLease(s.leases, {
          environment: 'live-env',
          deploymentId: 'live',
          owner: me,
          ttlMs: 60_000,
        });
        expect(lease.ok).toBe(true);
        await s.deployments.start(
          deployment('live', {
            environment: 'live-env',
            started_at: 4,
            status: 'running',
            owner_pid: me.pid,
            owner_host: me.host,
            owner_start: me.start,
          }),
          [],
        );

        const marked = await markInterrupted(s);
        expect(marked.map((d) => d.id)).toEqual(['v3']);
        const statuses = await s.deployments.since();
        expect(statuses.map((r) => `${r.id}:${r.status}`)).toEqual([
          'v1:success',
          'v2:success',
          'v3:interrupted',
          'live:running',
        ]);

        // v2 was live fleet-wide before v3: that is the target, not v1.
        const target = await rollbackTarget(s, env);
        expect(target && [target.interrupted, target.current.id, target.previous.id]).toEqual([
          true,
          'v3',
          'v2',
        ]);
      } finally {
        await s.close();
      }
    });
  });
}

const sqliteFile = path.join(sqliteRoot(), 'history.db');
suite('SQLite', async () => openStore({ root: os.tmpdir(), url: sqliteFile }));
suite('PostgreSQL', async () => {
  const url = await postgresUrl();
  return url ? openStore({ root: os.tmpdir(), url }) : undefined;
});
