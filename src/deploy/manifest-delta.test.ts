import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { noise } from '../../test/helpers/noise.js';
import { chunkBuffer, chunkIdOf, DEFAULT_CHUNKING } from './fastcdc.js';
import { type Manifest, manifestJson, releaseIdOf, validateManifest } from './manifest.js';
import { applyManifestDelta, chunkBases, diffManifest } from './manifest-delta.js';
import type { ChunkId } from './types.js';
import { deltaRequest, encodeDelta } from './wire-delta.js';
import { decodeDelta } from './wire-delta-decode.js';

const id = (s: string) => chunkIdOf(Buffer.from(s));

function manifest(version: string, files: Record<string, string>): Manifest {
  const entries: Manifest['entries'] = [];
  const dirs = new Set<string>();
  for (const p of Object.keys(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of dirs) entries.push({ type: 'dir', path: d, mode: 0o755 });
  for (const [p, text] of Object.entries(files))
    entries.push({
      type: 'file',
      path: p,
      mode: 0o644,
      size: text.length,
      chunks: [[id(text), text.length]],
    });
  // The walk's order: depth first, names sorted.
  entries.sort((a, b) => {
    const x = a.path.split('/');
    const y = b.path.split('/');
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return x.length - y.length;
  });
  return { format: 1, version, chunking: DEFAULT_CHUNKING, entries };
}

describe('manifest delta', () => {
  it('rebuilds exactly the new manifest (same release id) from the old one', () => {
    const a = manifest('v1', { 'a.js': 'one', 'lib/b.js': 'bee', 'lib/c.js': 'sea', 'z.txt': 'zed' });
    const b = manifest('v2', { 'a.js': 'uno', 'lib/b.js': 'bee', 'lib/d/e.js': 'new', 'z.txt': 'zed' });
    const d = diffManifest(a, releaseIdOf(a), b);
    expect(d.remove).toEqual(['lib/c.js']);
    expect(d.upsert.map((e) => e.path)).toEqual(['a.js', 'lib/d', 'lib/d/e.js']);
    const rebuilt = applyManifestDelta(a, JSON.parse(JSON.stringify(d)));
    expect(rebuilt.ok).toBe(true);
    const checked = validateManifest(rebuilt.ok ? rebuilt.value : undefined);
    expect(checked.ok && releaseIdOf(checked.value)).toBe(releaseIdOf(b));
  });

  it('sends a large file edited inside as runs of its old chunk list, and rebuilds it exactly', () => {
    const big = (v: string, ids: string[]): Manifest => ({
      format: 1,
      version: v,
      chunking: DEFAULT_CHUNKING,
      entries: [
        {
          type: 'file',
          path: 'data.bin',
          mode: 0o644,
          size: ids.length * 1000,
          chunks: ids.map((x) => [id(x), 1000] as [ChunkId, number]),
        },
      ],
    });
    const names = Array.from({ length: 3000 }, (_, i) => `c${i}`);
    const a = big('v1', names);
    // A 4 KB insertion at the start: one new chunk, then the old ones; and an edit in the middle.
    const b = big('v2', ['new0', ...names.slice(1, 1500), 'new1', ...names.slice(1501)]);
    const d = diffManifest(a, releaseIdOf(a), b);
    const wire = JSON.stringify(d);
    expect(wire.length).toBeLessThan(600);
    const rebuilt = applyManifestDelta(a, JSON.parse(wire));
    const checked = validateManifest(rebuilt.ok ? rebuilt.value : undefined);
    expect(checked.ok && releaseIdOf(checked.value)).toBe(releaseIdOf(b));
    // Runs past the old list, malformed operations and edits of a path the base lacks are refused.
    const upsert = d.upsert[0] as { edit: unknown[] };
    for (const edit of [[[2990, 20]], [[0, 0]], [['x']], 'runs']) {
      const r = applyManifestDelta(a, { ...d, upsert: [{ ...upsert, edit }] });
      expect(r.ok, JSON.stringify(edit)).toBe(false);
    }
    const elsewhere = applyManifestDelta(a, { ...d, upsert: [{ ...upsert, path: 'other.bin' }] });
    expect(elsewhere.ok).toBe(false);
  });

  it('compares entries in place when the paths are the same, by reference first', () => {
    const a = manifest('v1', { 'a.js': 'one', 'lib/b.js': 'bee', 'z.txt': 'zed' });
    // The same paths, one file edited, the rest the base's own entries (as the ledger keeps them).
    const b: Manifest = {
      ...a,
      version: 'v2',
      entries: a.entries.map((e) =>
        e.path === 'lib/b.js' ? { ...e, chunks: [[id('bea'), 3]] as [ChunkId, number][] } : e,
      ),
    };
    const d = diffManifest(a, releaseIdOf(a), b);
    expect(d.remove).toEqual([]);
    expect(d.upsert.map((e) => e.path)).toEqual(['lib/b.js']);
    const rebuilt = applyManifestDelta(a, JSON.parse(JSON.stringify(d)));
    const checked = validateManifest(rebuilt.ok ? rebuilt.value : undefined);
    expect(checked.ok && releaseIdOf(checked.value)).toBe(releaseIdOf(b));
    // The very same list: nothing to send, nothing to delta against.
    const same: Manifest = { ...a, version: 'v3' };
    expect(diffManifest(a, releaseIdOf(a), same)).toMatchObject({ remove: [], upsert: [] });
    expect(chunkBases(a, same, 1)).toEqual({});
  });

  it('rebuilds an empty delta as the base list itself, accepted and hashed as it was', () => {
    const a = manifest('v1', { 'a.js': 'x'.repeat(300), 'lib/b.js': 'bee' });
    const accepted = validateManifest(JSON.parse(JSON.stringify(a)));
    if (!accepted.ok) throw new Error(accepted.error);
    const base = accepted.value;
    // Written once as a twin's (remembered): its entries' JSON is known from then.
    expect(manifestJson(base, true)).toBe(JSON.stringify(base));
    const d = diffManifest(base, releaseIdOf(base), { ...base, version: 'v2' });
    const rebuilt = applyManifestDelta(base, JSON.parse(JSON.stringify(d)));
    const m = rebuilt.ok ? (rebuilt.value as Manifest) : undefined;
    expect(m?.entries).toBe(base.entries);
    const checked = validateManifest(m);
    expect(checked.ok).toBe(true);
    // The id from the known JSON is the id of the same manifest built afresh.
    expect(releaseIdOf(m!)).toBe(releaseIdOf(manifest('v2', { 'a.js': 'x'.repeat(300), 'lib/b.js': 'bee' })));
    expect(manifestJson(m!)).toBe(JSON.stringify(m));
    // A smaller chunk limit than the list was accepted under is checked again, entry by entry.
    const small = validateManifest({ ...m, chunking: { min: 64, avg: 128, max: 256 } });
    expect(small.ok || small.error).toMatch(/bad chunk size in "a.js"/);
  });

  it('rebuilds files changed in place (no path added or removed) in the base order, sharing the unchanged entries', () => {
    const files = { 'a.js': 'one', 'lib/b.js': 'bee', 'lib/c.js': 'sea', 'z.txt': 'zed' };
    const a = manifest('v1', files);
    const b = manifest('v2', { ...files, 'lib/b.js': 'BEE', 'z.txt': 'ZED' });
    const d = diffManifest(a, releaseIdOf(a), b);
    expect(d.remove).toEqual([]);
    const rebuilt = applyManifestDelta(a, JSON.parse(JSON.stringify(d)));
    const checked = validateManifest(rebuilt.ok ? rebuilt.value : undefined);
    expect(checked.ok && releaseIdOf(checked.value)).toBe(releaseIdOf(b));
    const entries = checked.ok ? checked.value.entries : [];
    expect(entries.map((e) => e.path)).toEqual(a.entries.map((e) => e.path));
    expect(entries.find((e) => e.path === 'a.js')).toBe(a.entries.find((e) => e.path === 'a.js'));
    // A new path with nothing removed: the general rebuild, in walk order.
    const c = manifest('v3', { ...files, 'lib/bb.js': 'new' });
    const dc = diffManifest(a, releaseIdOf(a), c);
    const rc = applyManifestDelta(a, JSON.parse(JSON.stringify(dc)));
    const cc = validateManifest(rc.ok ? rc.value : undefined);
    expect(cc.ok && releaseIdOf(cc.value)).toBe(releaseIdOf(c));
    // A path upserted twice: the later entry stands, either way.
    const twice = applyManifestDelta(a, { ...d, upsert: [...d.upsert, { ...d.upsert[0]!, mode: 0o600 }] });
    const tw = twice.ok ? (twice.value as { entries: { path: string; mode: number }[] }).entries : [];
    expect(tw.find((e) => e.path === d.upsert[0]!.path)?.mode).toBe(0o600);
    expect(applyManifestDelta(a, { ...d, upsert: [...d.upsert, { mode: 1 }] })).toEqual({
      ok: false,
      error: 'manifest delta entry without a path',
    });
  });

  it('refuses to remove a path the base lacks', () => {
    const a = manifest('v1', { 'a.js': 'one' });
    const r = applyManifestDelta(a, {
      version: 'v2',
      chunking: DEFAULT_CHUNKING,
      remove: ['nope'],
      upsert: [],
    });
    expect(r.ok).toBe(false);
  });
});

describe('chunk delta', () => {
  const seeded = (n: number, seed: number) => {
    const b = Buffer.alloc(n);
    let x = seed;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  };

  it('sends a small edit inside a chunk as a small delta that rebuilds the chunk', () => {
    const base = seeded(64 * 1024, 1);
    const next = Buffer.from(base);
    seeded(2000, 2).copy(next, 30_000);
    const req = deltaRequest(chunkIdOf(next), [chunkIdOf(base)], base);
    const payload = encodeDelta(next, req);
    expect(payload).toBeDefined();
    expect(payload!.length).toBeLessThan(6000);
    expect(decodeDelta(payload!, base, 256 * 1024, req.block).equals(next)).toBe(true);
  });

  it('finds blocks that moved (an insertion before them) and rebuilds the chunk', () => {
    const base = seeded(64 * 1024, 1);
    const next = Buffer.concat([base.subarray(0, 10_000), seeded(777, 9), base.subarray(10_000, 60_000)]);
    const req = deltaRequest(chunkIdOf(next), [chunkIdOf(base)], base);
    const payload = encodeDelta(next, req);
    expect(payload!.length).toBeLessThan(4000);
    expect(decodeDelta(payload!, base, 256 * 1024, req.block).equals(next)).toBe(true);
  });

  it('refuses a hostile delta: ops past the base, past the chunk limit, or short of literals', () => {
    const base = seeded(8 * 1024, 1);
    const frame = (ops: [number, number, number][], literals: Buffer) => {
      const head = Buffer.alloc(4 + ops.length * 12);
      head.writeUInt32BE(ops.length * 12, 0);
      ops.forEach(([len, first, count], k) => {
        head.writeUInt32BE(len, 4 + k * 12);
        head.writeUInt32BE(first, 8 + k * 12);
        head.writeUInt32BE(count, 12 + k * 12);
      });
      return Buffer.concat([head, zlib.deflateRawSync(literals)]);
    };
    const block = 1024;
    // Well formed: 3 literal bytes, blocks 2-3 of the base, 2 more literal bytes, an empty end.
    const good = frame(
      [
        [3, 2, 2],
        [2, 0, 0],
        [0, 0, 0],
      ],
      Buffer.from('abcde'),
    );
    expect(
      decodeDelta(good, base, 64 * 1024, block).equals(
        Buffer.concat([Buffer.from('abc'), base.subarray(2048, 4096), Buffer.from('de')]),
      ),
    ).toBe(true);
    expect(() => decodeDelta(frame([[0, 7, 2]], Buffer.alloc(0)), base, 64 * 1024, block)).toThrow(
      /past its base/,
    );
    expect(() => decodeDelta(frame([[5, 0, 0]], Buffer.from('abc')), base, 64 * 1024, block)).toThrow(
      /run short/,
    );
    // Each op within the base, the sum past the limit: 100 copies of the whole base.
    const many = frame(
      Array.from({ length: 100 }, () => [0, 0, 8] as [number, number, number]),
      Buffer.alloc(0),
    );
    expect(() => decodeDelta(many, base, 64 * 1024, block)).toThrow(/chunk limit/);
  });

  it('sends nothing useful when no block matches', () => {
    // Fixed bytes (test/helpers/noise.ts): random ones shared a block by chance about once in a
    // thousand runs; these two share none.
    const base = noise(64 * 1024, 1);
    const next = noise(64 * 1024, 2);
    expect(encodeDelta(next, deltaRequest(chunkIdOf(next), [chunkIdOf(base)], base))).toBeUndefined();
  });

  it('names the old chunks covering a changed chunk of the same file', () => {
    const oldBytes = seeded(300_000, 5);
    const newBytes = Buffer.from(oldBytes);
    seeded(100, 6).copy(newBytes, 150_000);
    const asManifest = (v: string, bytes: Buffer): Manifest => ({
      format: 1,
      version: v,
      chunking: DEFAULT_CHUNKING,
      entries: [
        {
          type: 'file',
          path: 'big.bin',
          mode: 0o644,
          size: bytes.length,
          chunks: chunkBuffer(bytes).map((c) => [c.id, c.size] as [ChunkId, number]),
        },
      ],
    });
    const a = asManifest('v1', oldBytes);
    const b = asManifest('v2', newBytes);
    const bases = chunkBases(a, b, 8 * 1024);
    const changed = Object.keys(bases);
    expect(changed.length).toBeGreaterThan(0);
    // The same file away from its old place (a file added before it): found by its path.
    const shifted: Manifest = {
      ...b,
      entries: [{ type: 'file', path: 'a.txt', mode: 0o644, size: 1, chunks: [[id('a'), 1]] }, ...b.entries],
    };
    expect(chunkBases(a, shifted, 8 * 1024)).toEqual(bases);
    const oldIds = new Set(a.entries.flatMap((e) => (e.type === 'file' ? e.chunks.map((c) => c[0]) : [])));
    for (const list of Object.values(bases)) for (const x of list) expect(oldIds.has(x)).toBe(true);
  });
});
