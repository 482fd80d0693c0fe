import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { releaseIdOf, symlinkEscapes, unsafePathReason, validateManifest } from './manifest.js';

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
    expect(symlinkEscapes('a/b/c', '../../x')).toBe(false);
    expect(symlinkEscapes('a/b/c', '../../../x')).toBe(true);
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
});
