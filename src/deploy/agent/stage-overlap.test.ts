/**
 * A changed file written from its earlier version is written while its chunks are still on their
 * way (agent.ts, arrivals.ts): the chunk source here holds every answer until the new file has
 * appeared in the staging folder, so a stage that waited for the transfer before writing it would
 * find the source silent (and the test's flag unset).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { forward } from '../../../test/helpers/forward.js';
import type { ChunkSourceRef } from '../chunk-client.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;
const servers: Server[] = [];

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-overlap-', token: TOKEN });
});

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  await rig.close();
});

/** Polls `ok` every 20 ms until it holds or `ms` passed; whether it held. */
async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * A chunk source in front of `origin` that answers each request only once `ready()` holds (or a
 * generous deadline passed), recording whether it held; `fail` answers 503 instead of forwarding.
 */
async function gate(
  origin: ChunkSourceRef,
  ready: () => boolean,
  fail = false,
): Promise<{ source: ChunkSourceRef; sawReady: boolean[] }> {
  const sawReady: boolean[] = [];
  const target = new URL(origin.url);
  const server = createServer(async (req, res) => {
    const body: Buffer[] = [];
    for await (const piece of req) body.push(piece as Buffer);
    sawReady.push(await until(ready, 30_000));
    if (fail) {
      res.writeHead(503).end('closed for the test');
      return;
    }
    forward(target, req, res, Buffer.concat(body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { source: { url: `http://127.0.0.1:${port}`, token: origin.token }, sawReady };
}

describe('a changed file written from its earlier version', () => {
  const big = randomBytes(400_000).toString('hex');
  const edited = `${big.slice(0, 300_000)}${'x'.repeat(2000)}${big.slice(302_000)}`;

  it('is being written before the transfer of its changed chunks ends, and comes out exact', async () => {
    const v1 = await rig.artifact('v1', { 'data.txt': big, 'small.txt': 'one' });
    expect(
      (await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    const v2 = await rig.artifact('v2', { 'data.txt': edited, 'small.txt': 'two' });
    const staged = path.join(rig.root, 'agent', 'staging', v2.release, 'data.txt');
    const { source, sawReady } = await gate(v2.origin, () => existsSync(staged));
    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [source] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    expect(sawReady.length).toBeGreaterThan(0);
    expect(sawReady.every(Boolean)).toBe(true);
    const file = (release: string, p: string) => path.join(rig.root, 'agent', 'releases', release, p);
    expect(await readFile(file(v2.release, 'data.txt'), 'utf8')).toBe(edited);
    expect(await readFile(file(v2.release, 'small.txt'), 'utf8')).toBe('two');
    expect(await readFile(file(v1.release, 'data.txt'), 'utf8')).toBe(big);
  });

  it('is begun again from scratch after the transfer failed half-way through writing it', async () => {
    const v1 = await rig.artifact('v1', { 'data.txt': big });
    expect(
      (await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    const v2 = await rig.artifact('v2', { 'data.txt': edited });
    const staged = path.join(rig.root, 'agent', 'staging', v2.release, 'data.txt');
    const { source } = await gate(v2.origin, () => existsSync(staged), true);
    const failed = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [source] });
    expect(failed.ok).toBe(false);
    // The half-written file stays in the staging folder; the next attempt must not build on it.
    expect(existsSync(staged)).toBe(true);
    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    expect(await readFile(path.join(rig.root, 'agent', 'releases', v2.release, 'data.txt'), 'utf8')).toBe(
      edited,
    );
    expect(await readFile(path.join(rig.root, 'agent', 'releases', v1.release, 'data.txt'), 'utf8')).toBe(
      big,
    );
  });
});
