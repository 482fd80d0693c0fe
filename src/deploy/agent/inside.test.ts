import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { staysInside } from './inside.js';

describe('staysInside', () => {
  it('agrees with path.resolve and a prefix test', () => {
    const root = '/srv/release';
    const paths = [
      'a',
      'a/b.txt',
      'dir/',
      '..x',
      'a/..b/c',
      'x..',
      '...',
      '..',
      '../a',
      'a/..',
      'a/../b',
      '/etc/passwd',
      '',
      'a\0b',
    ];
    for (const p of paths) {
      const resolved = path.resolve(root, p);
      const inside = p.length > 0 && !p.includes('\0') && resolved.startsWith(root + path.sep);
      // path.resolve folds "a/../b" back inside: refused here all the same (any ".." segment).
      if (p === 'a/../b') expect(staysInside(p)).toBe(false);
      else expect(staysInside(p), p).toBe(inside);
    }
  });
});
