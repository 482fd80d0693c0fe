/**
 * Codec negotiation over HTTP: an origin or a relay sends zstd frames only to an asker that
 * lists zstd and only when it has zstd itself; everything else gets Brotli as before. And a
 * staged edit arrives as a chunk delta, byte-identical.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../test/helpers/agent-rig.js';
import { fetchChunks } from './chunk-client.js';
import { chunkBases } from './manifest-delta.js';
import { startOrigin } from './origin.js';
import type { ChunkId } from './types.js';
import { MIN_DELTA_BASE } from './wire-delta.js';
import { loadZstd } from './zstd.js';

const TOKEN = 'codec-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-codecs-', token: TOKEN });
});
afterEach(() => rig.close());

/** Source-like text: compressible, different per seed. */
function text(n: number, seed: number): string {
  const words = ['import', 'export', 'const', 'return', 'render', 'props', '=>', '{}', 'null', 'await'];
  let x = seed;
  let out = '';
  while (out.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += `${words[x % words.length]}${x % 7 === 0 ? x % 991 : ''} `;
  }
  return out.slice(0, n);
}

/** The frame codes (wire.ts) of a raw chunk request, as a client on the wire sees them. */
async function codes(url: string, token: string, ids: string[], codecs?: string[]): Promise<number[]> {
  const res = await fetch(new URL('/v1/chunks/fetch', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ids, encoding: 'br', ...(codecs ? { codecs } : {}) }),
  });
  expect(res.status).toBe(200);
  const buf = Buffer.from(await res.arrayBuffer());
  const out: number[] = [];
  for (let at = 0; at < buf.length; at += 37 + buf.readUInt32BE(at + 33)) out.push(buf[at + 32]!);
  return out;
}

describe.runIf(loadZstd())('codec negotiation', () => {
  it('an origin sends zstd only to an asker listing it, and never when it lacks zstd itself', async () => {
    const art = await rig.artifact('v1', { 'app.js': text(50_000, 1) });
    const ids = [...art.chunks.keys()];
    expect(await codes(art.origin.url, art.origin.token, ids, ['zstd'])).toEqual([4]);
    expect(await codes(art.origin.url, art.origin.token, ids)).toEqual([2]);
    expect(await codes(art.origin.url, art.origin.token, ids, ['lz77x', 'zstd'])).toEqual([4]);
    // A deployer without the addon: Brotli whatever the asker offers, and the asker decodes it.
    const plain = await startOrigin({ chunks: art.chunks, token: 'plain-origin-token', codecs: [] });
    try {
      expect(await codes(plain.url, plain.token, ids, ['zstd'])).toEqual([2]);
      const got: Buffer[] = [];
      const r = await fetchChunks({
        source: plain,
        ids: ids as ChunkId[],
        maxChunk: art.manifest.chunking.max,
        onChunk: (_id, data) => {
          got.push(data);
        },
      });
      expect(r.ok).toBe(true);
      expect(Buffer.concat(got).toString()).toBe(text(50_000, 1));
    } finally {
      await plain.close();
    }
  });

  it('a relay passes zstd on to neighbours that list it, Brotli to the others', async () => {
    const art = await rig.artifact('v1', { 'app.js': text(50_000, 2) });
    const ids = [...art.chunks.keys()];
    const grant = 'neighbour-grant-token-0123456789';
    rig.agent.addGrant(grant, [art.origin], art.manifest.chunking.max);
    // The relay pulls through from the origin, then serves in the encoding each neighbour asked.
    expect(await codes(rig.url, grant, ids, ['zstd'])).toEqual([4]);
    expect(await codes(rig.url, grant, ids)).toEqual([2]);
    const status = await rig.client.status();
    expect(status.ok && status.value.codecs).toEqual(['zstd']);
  });

  it('stages an edit as a chunk delta against the chunk the agent has, byte-identical', async () => {
    const v1Text = text(120_000, 3);
    const v1 = await rig.artifact('v1', { 'app.js': v1Text });
    expect(
      (await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    const v2Text = `${v1Text.slice(0, 60_000)}${text(1500, 4)}${v1Text.slice(61_500)}`;
    const v2 = await rig.artifact('v2', { 'app.js': v2Text });
    const bases = chunkBases(v1.manifest, v2.manifest, MIN_DELTA_BASE);
    expect(Object.keys(bases).length).toBeGreaterThan(0);
    const s = await rig.client.stage({
      release: v2.release,
      manifest: v2.manifest,
      sources: [v2.origin],
      bases,
    });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    const file = path.join(rig.root, 'agent', 'releases', v2.release, 'app.js');
    expect(await readFile(file, 'utf8')).toBe(v2Text);
    // The changed chunks' whole compressed size is tens of kilobytes; the delta a fraction of it.
    expect(s.value.chunksFetched).toBe(Object.keys(bases).length);
    expect(s.value.bytesFetched).toBeLessThan(4000);
  });
});
