/**
 * The stat record (stat-record.ts) and stat-batch: the records GNU stat prints in a child process
 * and the ones `statRecord` computes in-process must be the same bytes (the ledger's output
 * records compare them as strings), a path that is gone has no record, a batch that cannot run
 * says so instead of answering wrongly, and the racy rule reads a record's times.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellBatch } from '../util/shell-batch.js';
import { statCommand, statMany, statText } from './stat-batch.js';
import { fsNow, isRacyRecord, recordPath, recordsByPath, statRecord } from './stat-record.js';

/** The record format the module documents, handed to GNU stat directly as the oracle. */
const FORMAT = '%s %.9Y %.9Z %i %f %n\\0';

const gnuStat = (() => {
  try {
    return execFileSync('stat', ['--version'], { encoding: 'utf8' }).includes('GNU coreutils');
  } catch {
    return false;
  }
})();

/** What GNU stat itself prints for `p` (no xargs, no shell). */
const oracle = (p: string) =>
  execFileSync('stat', ['--printf', FORMAT, p], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'slipway-stat-'));
  dirs.push(d);
  return d;
}

/** A NUL-separated list of paths (the ledger's output list). */
function list(_dir: string, paths: readonly string[]): string {
  return paths.length ? `${paths.join('\0')}\0` : '';
}

/** A folder with a file, a file named with spaces, quotes and a newline, a folder, links. */
function sample() {
  const d = tmp();
  const file = path.join(d, 'plain.txt');
  writeFileSync(file, 'hello\n');
  const spaced = path.join(d, "a file with spaces, it's odd");
  writeFileSync(spaced, 'x'.repeat(1234));
  chmodSync(spaced, 0o640);
  const newline = path.join(d, 'two\nlines ü');
  writeFileSync(newline, '');
  const folder = path.join(d, 'sub dir');
  mkdirSync(folder);
  chmodSync(folder, 0o750);
  const link = path.join(d, 'link');
  symlinkSync('plain.txt', link);
  const dangling = path.join(d, 'dangling');
  symlinkSync('nowhere', dangling);
  const exe = path.join(d, 'run.sh');
  writeFileSync(exe, '#!/bin/sh\n');
  chmodSync(exe, 0o755);
  // A fixed mtime with a nanosecond-ish fraction, so the fraction's formatting is exercised.
  utimesSync(exe, 1_600_000_000.5, 1_600_000_000.000_25);
  return { d, file, spaced, newline, folder, link, dangling, exe };
}

describe.runIf(gnuStat)('statRecord matches GNU stat byte for byte', () => {
  it.each(['file', 'spaced', 'newline', 'folder', 'link', 'dangling', 'exe'] as const)('for a %s', (kind) => {
    const s = sample();
    const p = s[kind];
    const line = statRecord(p);
    expect(line).not.toBe('');
    expect(line).toBe(oracle(p));
    expect(recordPath(line)).toBe(p);
  });

  it('records a symlink itself, not its target', () => {
    const s = sample();
    const link = statRecord(s.link);
    const target = statRecord(s.file);
    expect(link.split(' ')[3]).not.toBe(target.split(' ')[3]); // inode
    expect(link.split(' ')[0]).toBe(String('plain.txt'.length)); // a link's size is its target's length
  });

  it('changes when the mode, size, mtime or ctime of the path changes', () => {
    const s = sample();
    const before = statRecord(s.file);
    chmodSync(s.file, 0o600);
    const chmodded = statRecord(s.file);
    expect(chmodded).not.toBe(before);
    expect(chmodded).toBe(oracle(s.file));
    utimesSync(s.file, 1_500_000_000, 1_500_000_000);
    const touched = statRecord(s.file);
    expect(touched).not.toBe(chmodded);
    expect(touched).toBe(oracle(s.file));
    writeFileSync(s.file, 'hello, longer\n');
    expect(statRecord(s.file)).not.toBe(touched);
    expect(statRecord(s.file)).toBe(oracle(s.file));
  });

  it('changes when only the ctime moves (mtime put back, as `touch -r` does after an edit)', () => {
    const s = sample();
    // Whole seconds: put back exactly, not rounded through a float.
    const mtime = 1_500_000_000;
    utimesSync(s.file, mtime, mtime);
    const before = statRecord(s.file);
    // The ctime clock ticks coarsely: repeat until it has moved (a condition, not a clock read).
    const deadline = Date.now() + 60_000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      utimesSync(s.file, mtime, mtime);
      after = statRecord(s.file);
    }
    expect(after).not.toBe(before);
    expect(after.split(' ').slice(0, 2)).toEqual(before.split(' ').slice(0, 2)); // size, mtime
    expect(after).toBe(oracle(s.file));
  });

  it('gives an empty record for a missing path', () => {
    expect(statRecord(path.join(tmp(), 'missing'))).toBe('');
  });
});

describe.runIf(gnuStat)('statMany', () => {
  it('prints, in list order, exactly the records statRecord computes', async () => {
    const s = sample();
    const paths = [s.exe, s.folder, s.file, s.spaced, s.newline, s.link, s.dangling];
    const text = await statMany(list(s.d, paths));
    expect(text).toBe(paths.map(statRecord).join(''));
  });

  it('leaves a missing path out and still returns every other record', async () => {
    const s = sample();
    const gone = path.join(s.d, 'gone.txt');
    const text = await statMany(list(s.d, [s.file, gone, s.spaced]));
    expect(text).toBe(statRecord(s.file) + statRecord(s.spaced));
    const byPath = recordsByPath(text!);
    expect(byPath.has(gone)).toBe(false);
    expect([...byPath.keys()]).toEqual([s.file, s.spaced]);
  });

  it('leaves it to the caller when every listed path is missing (indistinguishable from a stat without --printf)', async () => {
    const d = tmp();
    const paths = [path.join(d, 'a'), path.join(d, 'b')];
    expect(await statMany(list(d, paths))).toBeUndefined();
    // The caller's in-process fallback then sees them gone.
    expect(paths.map(statRecord)).toEqual(['', '']);
  });

  it('answers an empty list with no records', async () => {
    expect(await statMany('')).toBe('');
  });

  it('keeps order and format across the several stat processes a long list needs', async () => {
    const d = tmp();
    const long = 'a-rather-long-folder-name-to-make-the-argument-list-long'.repeat(2);
    const deep = path.join(d, long, long);
    mkdirSync(deep, { recursive: true });
    const paths: string[] = [];
    for (let i = 0; i < 4500; i++) {
      const p = path.join(deep, `output file ${String(i).padStart(5, '0')}.js`);
      writeFileSync(p, String(i));
      paths.push(p);
    }
    // More bytes of arguments than one stat is given (statCommand's -s): xargs must split the list.
    expect(paths.join('').length).toBeGreaterThan(1_048_576);
    const text = await statMany(list(d, paths));
    expect(text).toBe(paths.map(statRecord).join(''));
  });

  it('runs as one command of a shell batch (how the CLI probes use it)', async () => {
    const s = sample();
    const [r] = await shellBatch(s.d, [statCommand(list(s.d, [s.file, s.folder]))]);
    expect(statText(r!)).toBe(statRecord(s.file) + statRecord(s.folder));
  });

  // A stat without --printf (BusyBox, macOS) fails on every path and xargs exits 123 with no
  // output: that must read as "could not stat" (callers fall back to statRecord), not "all gone".
  it('is undefined when stat does not understand --printf (not GNU)', async () => {
    const s = sample();
    const bin = tmp();
    writeFileSync(
      path.join(bin, 'stat'),
      '#!/bin/sh\necho "stat: unrecognized option: printf" >&2\nexit 1\n',
    );
    chmodSync(path.join(bin, 'stat'), 0o755);
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      expect(await statMany(list(s.d, [s.file]))).toBeUndefined();
    } finally {
      process.env.PATH = saved;
    }
  });

  it('is undefined when stat prints another format (no %.9Y support)', () => {
    expect(statText({ code: 0, out: '5 1600000000 12 81a4 /x\0' })).toBeUndefined();
    expect(statText({ code: 127, out: '' })).toBeUndefined();
    expect(statText({ code: undefined, out: '' })).toBeUndefined();
  });
});

describe('recordPath and recordsByPath', () => {
  it('round-trip paths with spaces, newlines and non-ASCII names', () => {
    const s = sample();
    const paths = [s.file, s.spaced, s.newline, s.folder, s.link];
    const text = paths.map(statRecord).join('');
    const byPath = recordsByPath(text);
    expect([...byPath.keys()]).toEqual(paths);
    for (const p of paths) {
      expect(byPath.get(p)).toBe(statRecord(p));
      expect(recordPath(byPath.get(p)!)).toBe(p);
    }
  });

  it('reads a path without the trailing NUL too', () => {
    expect(recordPath('12 1600000000.000000000 1600000000.000000000 7 81a4 /a b/c d')).toBe('/a b/c d');
  });

  it('gives nothing for empty text', () => {
    expect(recordsByPath('').size).toBe(0);
  });
});

describe('isRacyRecord', () => {
  it('distrusts a record changed within the racy window, by mtime or by ctime', () => {
    const s = sample();
    // Just written: racy now, not once the window has passed.
    const fresh = statRecord(s.file);
    expect(isRacyRecord(fresh)).toBe(true);
    expect(isRacyRecord(fresh, Date.now() + 60_000)).toBe(false);
    // An old mtime does not help while the ctime (the utimes call itself) is recent.
    utimesSync(s.file, 1_500_000_000, 1_500_000_000);
    const touched = statRecord(s.file);
    expect(isRacyRecord(touched)).toBe(true);
    expect(isRacyRecord(touched, Date.now() + 60_000)).toBe(false);
  });

  it('against a stamp of the same filesystem: racy when changed at or after it, judged by the ctime', () => {
    const s = sample();
    const stampFile = path.join(path.dirname(s.file), '.stamp');
    // Written after the stamp: its ctime cannot be earlier than the stamp's.
    const before = fsNow(stampFile)!;
    writeFileSync(s.file, 'changed\n');
    expect(isRacyRecord(statRecord(s.file), before)).toBe(true);
    // A stamp that the filesystem's clock gives a later time: the change is settled, even with an
    // mtime set ahead of it (only the ctime, which no one can set, says when it changed).
    utimesSync(s.file, Date.now() / 1000 + 3600, Date.now() / 1000 + 3600);
    const rec = statRecord(s.file);
    // Wait for the filesystem's clock to be a millisecond past the change (ms as doubles are
    // exact to a fraction of a microsecond only).
    const changedMs = Number(rec.split(' ')[2]) * 1000;
    let after = fsNow(stampFile)!;
    while (after.ms < changedMs + 1) after = fsNow(stampFile)!;
    expect(isRacyRecord(rec, after)).toBe(false);
    // The wall clock's rule takes the later of both times: the mtime ahead keeps it racy.
    expect(isRacyRecord(rec)).toBe(true);
  });

  it('never calls the empty record (an absent path) racy', () => {
    expect(isRacyRecord('')).toBe(false);
  });
});
