/**
 * The link resolver against hand-picked chains, then against the kernel itself: random trees of
 * folders and links are built on disk and every link's answer is compared with realpath(3).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../analyze/random.js';
import { firstEscapingLink, MAX_LINK_HOPS, resolveLink } from './symlink-target.js';

const inSet = (links: Record<string, string>) => (p: string) => links[p];

describe('resolveLink', () => {
  it.each([
    // [link, target, other links, expected place or refusal]
    ['out/esc', 'dot/../..', { 'out/dot': '.' }, 'outside'],
    ['out/esc', 'dot/dot/dot/../../..', { 'out/dot': '.' }, 'outside'],
    ['out/e6', 'a/../../../..', { 'out/a': 'b/c', 'out/b/c': '../..' }, 'outside'],
    ['out/ok', 'dot/x', { 'out/dot': '.' }, 'out/x'],
    ['out/up', '../lib/../lib/app.js', {}, 'lib/app.js'],
    ['a/b/c', '../../x', {}, 'x'],
    ['a/b/c', '../../../x', {}, 'outside'],
    ['l', '.', {}, ''],
    ['l', '..', {}, 'outside'],
    ['out/l', 'abs/x', { 'out/abs': '/etc' }, 'absolute'],
    ['out/l', '/etc/passwd', {}, 'absolute'],
    ['out/l', '', {}, 'absolute'],
    ['out/l', 'C:/x', {}, 'absolute'],
    ['out/l', 'a\0b', {}, 'absolute'],
    ['self', 'self', { self: 'self' }, 'loop'],
    ['a', 'b', { a: 'b', b: 'a' }, 'loop'],
    ['a', 'a/x', { a: 'a/x' }, 'loop'],
    // The final component is followed too: where it leads must be inside.
    ['out/l', 'next', { 'out/next': '../..' }, 'outside'],
    ['out/l', 'next', { 'out/next': '../in' }, 'in'],
  ])('%s -> %s with %j: %s', (link, target, others, expected) => {
    const r = resolveLink(link, target, inSet({ [link]: target, ...others }));
    if (r.ok) expect(r.value).toBe(expected);
    else expect(r.error).toBe(expected);
  });

  it('follows a long chain up to the kernel limit, and no further', () => {
    const chain = (n: number) => {
      const links: Record<string, string> = {};
      for (let i = 0; i < n; i++) links[`l${i}`] = `l${i + 1}`;
      return links;
    };
    expect(resolveLink('l0', 'l1', inSet(chain(MAX_LINK_HOPS)))).toEqual({
      ok: true,
      value: `l${MAX_LINK_HOPS}`,
    });
    expect(resolveLink('l0', 'l1', inSet(chain(MAX_LINK_HOPS + 2)))).toEqual({ ok: false, error: 'loop' });
  });

  it('firstEscapingLink finds a link whose escape goes through a link listed after it', () => {
    const links = new Map([
      ['a', 'z/../..'],
      ['z', '.'],
      ['ok', 'z'],
    ]);
    expect(firstEscapingLink(links)).toEqual({ path: 'a', target: 'z/../..', problem: 'outside' });
    expect(firstEscapingLink(new Map([['ok', 'z']]))).toBeUndefined();
  });
});

// ---- Against the kernel -------------------------------------------------------------------

const NAMES = ['a', 'b', 'c'];
const PARTS = ['.', '..', '..', 'a', 'b', 'c'];
const DEPTH = 3;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'slipway-links-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every folder path of the full tree (names a/b/c, up to DEPTH deep), parents first. */
function allDirs(): string[] {
  const out: string[] = [];
  const visit = (prefix: string, depth: number) => {
    if (depth === DEPTH) return;
    for (const n of NAMES) {
      const p = prefix ? `${prefix}/${n}` : n;
      out.push(p);
      visit(p, depth + 1);
    }
  };
  visit('', 0);
  return out;
}

// realpathSync.native is realpath(3); Node's JS realpathSync normalises `..` as text, as the bug did.
describe('resolveLink agrees with the kernel (realpath(3)) on random trees', () => {
  it('on 150 seeded trees', () => {
    const dirs = allDirs();
    const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    let compared = 0;
    let escapes = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = mulberry32(seed);
      // Three levels of uniquely named folders above the root, so `..` out of it never re-enters.
      const root = path.join(scratch, `s${seed}`, 'up1', 'up2', 'up3', 'root');
      mkdirSync(root, { recursive: true });
      const links: Record<string, string> = {};
      // Links replace folders (and everything below them) at random places.
      for (const d of dirs) {
        if (Object.keys(links).some((l) => d.startsWith(`${l}/`))) continue;
        if (r() < 0.12) {
          const n = 1 + Math.floor(r() * 5);
          links[d] = Array.from({ length: n }, () => pick(r, PARTS)).join('/');
        }
      }
      for (const d of dirs) {
        if (Object.keys(links).some((l) => d === l || d.startsWith(`${l}/`))) continue;
        mkdirSync(path.join(root, d), { recursive: true });
      }
      for (const [p, target] of Object.entries(links)) symlinkSync(target, path.join(root, p));
      const realRoot = realpathSync.native(root);
      for (const [p, target] of Object.entries(links)) {
        const ours = resolveLink(p, target, inSet(links));
        let kernel: string | 'loop' | 'missing';
        try {
          const rel = path.relative(realRoot, realpathSync.native(path.join(root, p)));
          kernel = rel.startsWith('..') ? 'outside' : rel.split(path.sep).join('/');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          kernel = code === 'ELOOP' ? 'loop' : 'missing';
        }
        // A dangling path has no kernel answer to compare with.
        if (kernel === 'missing') continue;
        compared++;
        if (kernel === 'outside') escapes++;
        const mine = ours.ok ? ours.value : ours.error;
        expect(mine, `seed ${seed}: ${p} -> ${target} in ${JSON.stringify(links)}`).toBe(kernel);
      }
    }
    // The comparison covered many links, escaping ones among them.
    expect(compared).toBeGreaterThan(100);
    expect(escapes).toBeGreaterThan(20);
  });
});
