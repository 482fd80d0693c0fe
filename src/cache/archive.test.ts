import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { createArchive, extractArchive, readArchive } from './archive.js';
import { collectMatches, globSet } from './walk.js';

const tempDir = tempDirs();
const tmp = () => tempDir('slipway-archive-');

/** Builds an archive by hand, the way a hostile server could. */
function craft(
  headers: { p: string; t: string; m: number; s?: number; l?: string; data?: string }[],
): Buffer {
  const parts = [Buffer.from('SLPWAR01')];
  for (const { data, ...h } of headers) {
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    parts.push(len, json);
    if (data !== undefined) parts.push(Buffer.from(data));
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

describe('archive', () => {
  it('round-trips contents, modes, folders and in-tree symlinks', async () => {
    const src = tmp();
    mkdirSync(path.join(src, 'dist/sub/empty'), { recursive: true });
    writeFileSync(path.join(src, 'dist/app.js'), 'console.log(1)\n', { mode: 0o755 });
    writeFileSync(path.join(src, 'dist/sub/data.bin'), Buffer.from([0, 1, 2, 255]), { mode: 0o600 });
    symlinkSync('app.js', path.join(src, 'dist/latest.js'));
    symlinkSync('../dist/sub', path.join(src, 'dist/sub-link'));
    const entries = collectMatches(src, globSet(['dist/**']));
    const buf = createArchive(src, entries);
    expect(buf.ok).toBe(true);
    if (!buf.ok) return;
    const items = readArchive(buf.value);
    expect(items.ok).toBe(true);
    if (!items.ok) return;
    const dst = tmp();
    expect(extractArchive(dst, items.value).ok).toBe(true);
    expect(readFileSync(path.join(dst, 'dist/app.js'), 'utf8')).toBe('console.log(1)\n');
    expect(statSync(path.join(dst, 'dist/app.js')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dst, 'dist/sub/data.bin')).mode & 0o777).toBe(0o600);
    expect([...readFileSync(path.join(dst, 'dist/sub/data.bin'))]).toEqual([0, 1, 2, 255]);
    expect(readlinkSync(path.join(dst, 'dist/latest.js'))).toBe('app.js');
    expect(readlinkSync(path.join(dst, 'dist/sub-link'))).toBe('../dist/sub');
    expect(lstatSync(path.join(dst, 'dist/sub/empty')).isDirectory()).toBe(true);
  });

  it('refuses to archive a symlink that leaves the folder', () => {
    const src = tmp();
    mkdirSync(path.join(src, 'dist'));
    symlinkSync('../../etc/passwd', path.join(src, 'dist/escape'));
    const r = createArchive(src, collectMatches(src, globSet(['dist/**'])));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/points outside/);
    symlinkSync('/etc/passwd', path.join(src, 'dist/abs'));
    expect(createArchive(src, [{ path: 'dist/abs', kind: 'symlink' }]).ok).toBe(false);
  });

  it('refuses unsafe paths on create', () => {
    const src = tmp();
    for (const p of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '.']) {
      expect(createArchive(src, [{ path: p, kind: 'file' }]).ok).toBe(false);
    }
  });

  it.each([
    ['a parent segment', [{ p: '../evil.txt', t: 'f', m: 0o644, s: 1, data: 'x' }], /unsafe path/],
    [
      'a nested parent segment',
      [{ p: 'dist/../../evil.txt', t: 'f', m: 0o644, s: 1, data: 'x' }],
      /unsafe path/,
    ],
    ['an absolute path', [{ p: '/tmp/evil.txt', t: 'f', m: 0o644, s: 1, data: 'x' }], /unsafe path/],
    ['an escaping symlink', [{ p: 'dist/l', t: 'l', m: 0o777, l: '../../..' }], /outside/],
    ['an absolute symlink', [{ p: 'dist/l', t: 'l', m: 0o777, l: '/etc' }], /outside/],
    [
      'a write through its own symlink',
      [
        { p: 'dist/l', t: 'l', m: 0o777, l: '.' },
        { p: 'dist/l/x', t: 'f', m: 0o644, s: 1, data: 'x' },
      ],
      /through a symlink/,
    ],
    ['a truncated file', [{ p: 'dist/a', t: 'f', m: 0o644, s: 10, data: 'x' }], /truncated/],
    [
      'a symlink chain (dot -> ., esc -> dot/../..)',
      [
        { p: 'out/dot', t: 'l', m: 0o777, l: '.' },
        { p: 'out/esc', t: 'l', m: 0o777, l: 'dot/../..' },
      ],
      /"out\/esc".*points outside/,
    ],
    [
      'a chain through a link listed later',
      [
        { p: 'out/a', t: 'l', m: 0o777, l: 'z/../..' },
        { p: 'out/z', t: 'l', m: 0o777, l: '.' },
      ],
      /points outside/,
    ],
    ['a link loop', [{ p: 'out/a', t: 'l', m: 0o777, l: 'a/x' }], /more than 40 links/],
  ])('refuses an archive with %s', (_name, headers, message) => {
    const r = readArchive(craft(headers));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('never writes through a symlink already on disk', async () => {
    const outside = tmp();
    const dst = tmp();
    symlinkSync(outside, path.join(dst, 'dist'));
    const items = readArchive(craft([{ p: 'dist/a.txt', t: 'f', m: 0o644, s: 1, data: 'x' }]));
    expect(items.ok).toBe(true);
    if (!items.ok) return;
    const r = extractArchive(dst, items.value);
    expect(r.ok).toBe(false);
    expect(() => statSync(path.join(outside, 'a.txt'))).toThrow();
    // A symlink where the file goes is replaced, not followed.
    mkdirSync(path.join(dst, 'out'));
    symlinkSync(path.join(outside, 'victim'), path.join(dst, 'out/a.txt'));
    const items2 = readArchive(craft([{ p: 'out/a.txt', t: 'f', m: 0o644, s: 2, data: 'ok' }]));
    if (!items2.ok) throw new Error(items2.error);
    expect(extractArchive(dst, items2.value).ok).toBe(true);
    expect(readFileSync(path.join(dst, 'out/a.txt'), 'utf8')).toBe('ok');
    expect(() => statSync(path.join(outside, 'victim'))).toThrow();
  });

  it('refuses a chain through a symlink already on disk, before changing anything', () => {
    const dst = tmp();
    mkdirSync(path.join(dst, 'out'));
    // A link the archive does not replace: the kernel follows it, so must the check.
    symlinkSync('..', path.join(dst, 'out/up'));
    const items = readArchive(craft([{ p: 'out/esc', t: 'l', m: 0o777, l: 'up/..' }]));
    if (!items.ok) throw new Error(items.error);
    const r = extractArchive(dst, items.value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/points outside/);
    expect(() => lstatSync(path.join(dst, 'out/esc'))).toThrow();
  });

  it('restores permission bits only: never setuid, setgid or sticky', () => {
    const items = readArchive(
      craft([
        { p: 'out', t: 'd', m: 0o1777 },
        { p: 'out/suid', t: 'f', m: 0o6755, s: 1, data: 'x' },
      ]),
    );
    if (!items.ok) throw new Error(items.error);
    expect(items.value.map((it) => it.mode)).toEqual([0o777, 0o755]);
    const dst = tmp();
    expect(extractArchive(dst, items.value).ok).toBe(true);
    expect(statSync(path.join(dst, 'out/suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(path.join(dst, 'out')).mode & 0o7000).toBe(0);
  });
});
