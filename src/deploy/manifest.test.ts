import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import {
  chunksOf,
  chunkTotals,
  EntriesDigest,
  escapingSymlink,
  knownEntriesJson,
  type Manifest,
  manifestJson,
  parentOf,
  releaseIdOf,
  releaseIdOfJson,
  unsafePathReason,
  validateManifest,
} from './manifest.js';

const id = 'a'.repeat(64);
const good = {
  format: 1,
  version: 'v1',
  chunking: DEFAULT_CHUNKING,
  entries: [
    { type: 'dir', path: 'lib', mode: 0o755 },
    { type: 'file', path: 'lib/app.js', mode: 0o644, size: 10, chunks: [[id, 10]] },
    { type: 'symlink', path: 'lib/latest', target: 'app.js' },
    { type: 'symlink', path: 'up', target: 'lib/../lib/app.js' },
  ],
};

function withEntry(e: object) {
  return { ...good, entries: [...good.entries, e] };
}

describe('manifest validation', () => {
  it('accepts a plain manifest and derives a folder-safe release id', () => {
    const r = validateManifest(good);
    expect(r.ok).toBe(true);
    if (r.ok) expect(releaseIdOf(r.value)).toMatch(/^v1-[0-9a-f]{12}$/);
    expect(releaseIdOf({ ...good, version: '../../etc' } as never)).toMatch(/^r_/);
  });

  it('gives the same release id from entries whose JSON is known as from the entries alone', () => {
    const entries = JSON.parse(JSON.stringify(good.entries)) as Manifest['entries'];
    const plain = releaseIdOf({ ...good, version: 'v "2"', entries } as Manifest);
    const copy = JSON.parse(JSON.stringify(good.entries)) as Manifest['entries'];
    knownEntriesJson(copy, JSON.stringify(copy));
    expect(releaseIdOf({ ...good, version: 'v "2"', entries: copy } as Manifest)).toBe(plain);
  });

  it('gives the same release id from the entries digested one by one as they streamed (EntriesDigest)', () => {
    for (const version of ['v1', 'v "2"']) {
      for (const n of [0, 1, good.entries.length]) {
        const entries = JSON.parse(JSON.stringify(good.entries.slice(0, n))) as Manifest['entries'];
        const m = { ...good, version, entries } as Manifest;
        const plain = releaseIdOf({ ...m, entries: JSON.parse(JSON.stringify(entries)) });
        const digest = new EntriesDigest(m);
        for (const e of entries) digest.add(JSON.stringify(e));
        digest.vouch(entries);
        expect(releaseIdOf(m, true)).toBe(plain);
      }
    }
    // Digested under another version: that manifest's id is its own, not the digest's.
    const entries = JSON.parse(JSON.stringify(good.entries)) as Manifest['entries'];
    const digest = new EntriesDigest({ ...good, version: 'v9' } as Manifest);
    for (const e of entries) digest.add(JSON.stringify(e));
    digest.vouch(entries);
    const other = { ...good, version: 'v1', entries } as Manifest;
    expect(releaseIdOf(other)).toBe(releaseIdOf({ ...other, entries: JSON.parse(JSON.stringify(entries)) }));
    // Entries added past a 64 KB batch: the same id as the list serialized at once.
    const many = Array.from({ length: 2000 }, (_, i) => ({
      type: 'file' as const,
      path: `f${String(i).padStart(5, '0')}`,
      mode: 0o644,
      size: 10,
      chunks: [[id, 10]] as [typeof id, number][],
    })) as Manifest['entries'];
    const big = { ...good, entries: many } as Manifest;
    const expected = releaseIdOf({ ...big, entries: JSON.parse(JSON.stringify(many)) });
    const d = new EntriesDigest(big);
    for (const e of many) d.add(JSON.stringify(e));
    d.vouch(many);
    expect(releaseIdOf(big)).toBe(expected);
  });

  it('gives the same release id from the manifest JSON made by the caller (releaseIdOfJson)', () => {
    for (const version of ['v1', 'v "2"', '../../etc', '']) {
      const m = { ...good, version } as Manifest;
      expect(releaseIdOfJson(m, manifestJson(m))).toBe(releaseIdOf(m));
    }
    // Other bytes, another id: the JSON is hashed as given, not trusted to be the manifest's.
    const m = good as Manifest;
    expect(releaseIdOfJson(m, `${manifestJson(m)} `)).not.toBe(releaseIdOf(m));
  });

  it('checks again an accepted entry placed where it may not stand, or under a smaller chunk limit', () => {
    const dir = { type: 'dir', path: 'lib', mode: 0o755 };
    const file = { type: 'file', path: 'lib/app.js', mode: 0o644, size: 100, chunks: [[id, 100]] };
    expect(validateManifest({ ...good, entries: [dir, file] }).ok).toBe(true);
    // The same entry objects again, as a manifest rebuilt from a delta shares them with its base.
    const orphan = validateManifest({ ...good, entries: [file] });
    expect(orphan.ok || orphan.error).toMatch(/must come after its parent folder/);
    const twice = validateManifest({ ...good, entries: [dir, file, file] });
    expect(twice.ok || twice.error).toMatch(/duplicate path/);
    const smaller = validateManifest({
      ...good,
      chunking: { min: 64, avg: 80, max: 96 },
      entries: [dir, file],
    });
    expect(smaller.ok || smaller.error).toMatch(/bad chunk size/);
  });

  it.each([
    ['../escape.txt', /climbs out/],
    ['lib/../../escape.txt', /climbs out/],
    ['/etc/passwd', /absolute/],
    ['C:/windows', /absolute/],
    ['lib//x', /empty/],
    ['./x', /"\."/],
    ['a\\b', /backslash/],
  ])('refuses the path %s', (p, why) => {
    const r = validateManifest(
      withEntry({ type: 'file', path: p, mode: 0o644, size: 10, chunks: [[id, 10]] }),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });

  it('refuses symlinks that point outside the release', () => {
    for (const target of ['../../outside', '/etc/passwd', '../lib/../../x', '../..']) {
      const r = validateManifest(withEntry({ type: 'symlink', path: 'lib/evil', target }));
      expect(r.ok, target).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/points outside/);
    }
    const link = (p: string, target: string) => [{ type: 'symlink' as const, path: p, target }];
    expect(escapingSymlink(link('a/b/c', '../../x'))).toBeUndefined();
    expect(escapingSymlink(link('a/b/c', '../../../x'))).toMatch(/points outside/);
  });

  it('refuses a chain of symlinks that leaves the release (out/dot -> ., out/esc -> dot/../..)', () => {
    const r = validateManifest({
      ...good,
      entries: [
        { type: 'dir', path: 'out', mode: 0o755 },
        { type: 'symlink', path: 'out/dot', target: '.' },
        { type: 'symlink', path: 'out/esc', target: 'dot/../..' },
      ],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/"out\/esc".*points outside the release/);
    // A link listed after the one passing through it counts too.
    const later = validateManifest({
      ...good,
      entries: [
        { type: 'symlink', path: 'a', target: 'b/../..' },
        { type: 'symlink', path: 'b', target: '.' },
      ],
    });
    expect(later.ok).toBe(false);
  });

  it('refuses writing through a symlink, duplicates and sizes that do not add up', () => {
    const viaLink = validateManifest({
      ...good,
      entries: [
        { type: 'symlink', path: 'd', target: 'lib' },
        { type: 'file', path: 'd/x', mode: 0o644, size: 10, chunks: [[id, 10]] },
      ],
    });
    expect(viaLink.ok).toBe(false);
    expect(validateManifest(withEntry({ type: 'dir', path: 'lib', mode: 0o755 })).ok).toBe(false);
    expect(
      validateManifest(withEntry({ type: 'file', path: 'x', mode: 0o644, size: 11, chunks: [[id, 10]] })).ok,
    ).toBe(false);
    expect(
      validateManifest(
        withEntry({ type: 'file', path: 'x', mode: 0o644, size: 10, chunks: [['nothex', 10]] }),
      ).ok,
    ).toBe(false);
    expect(validateManifest({ ...good, format: 2 }).ok).toBe(false);
  });

  it('explains unsafe paths', () => {
    expect(unsafePathReason('ok/fine.txt')).toBeUndefined();
    expect(unsafePathReason('')).toMatch(/empty/);
    expect(unsafePathReason('a\0b')).toMatch(/NUL/);
  });

  it('finds exactly the paths the segment-by-segment check finds unsafe, with its reasons', () => {
    // The check as it was before its one-pass fast path: the reference.
    const reference = (p: string): string | undefined => {
      if (p.length === 0) return 'empty path';
      if (p.length > 4096) return 'path longer than 4096 characters';
      if (p.includes('\0')) return 'path contains a NUL byte';
      if (p.includes('\\')) return 'path contains a backslash';
      if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
      for (const seg of p.split('/')) {
        if (seg === '..') return 'path climbs out with ".."';
        if (seg === '' || seg === '.') return 'path has an empty or "." segment';
      }
      return undefined;
    };
    const alphabet = ['a', 'Z', '.', '/', '\\', '\0', ':', 'é', '@', ' '];
    let seed = 17;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const paths = ['a', '.a', 'a.', '..a', 'a..', 'a/.b', 'a/..b', 'C:x', 'c:', '1:x', ':x', '@:x', 'a/b/'];
    for (let i = 0; i < 20_000; i++) {
      let p = '';
      const n = next() % 9;
      for (let j = 0; j < n; j++) p += alphabet[next() % alphabet.length];
      paths.push(p);
    }
    paths.push('a'.repeat(4096), 'a'.repeat(4097), `${'a/'.repeat(2047)}b`, `${'a/'.repeat(2048)}b`);
    for (const p of paths) {
      expect(unsafePathReason(p), JSON.stringify(p)).toBe(reference(p));
      if (reference(p) === undefined) expect(parentOf(p)).toBe(path.posix.dirname(p));
    }
  });
});

describe('chunkTotals', () => {
  it("is chunksOf's size and byte sum, counted once per entries list", () => {
    const m = good as Manifest;
    const all = chunksOf(m);
    let bytes = 0;
    for (const size of all.values()) bytes += size;
    const totals = chunkTotals(m);
    expect(totals).toEqual({ count: all.size, bytes });
    // A twin's manifest (another version, the same list) takes the totals as counted.
    expect(chunkTotals({ ...m, version: 'v2' })).toBe(totals);
    // Another list is counted afresh.
    const other = { ...m, entries: m.entries.filter((e) => e.type !== 'file') };
    expect(chunkTotals(other)).toEqual({ count: 0, bytes: 0 });
  });
});
