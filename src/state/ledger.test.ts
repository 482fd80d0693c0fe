/**
 * The per-checkout ledger: what is saved loads back; a ledger that is damaged or of another
 * version reads as empty (slower, never wrong); saving writes only the
 * sections this process changed over what another process wrote meanwhile; and nothing is
 * written when nothing changed.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ledger } from './ledger.js';
import { ledgerFile } from './paths.js';
import { statRecord } from './stat-record.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'slipway-ledger-'));
  dirs.push(d);
  return d;
}

/** A folder with two output files and a ledger recording them under `outputs`. */
function withOutputs() {
  const root = tmp();
  mkdirSync(path.join(root, 'dist'));
  const files = ['a.js', 'b c.js'].map((n) => path.join(root, 'dist', n));
  for (const f of files) writeFileSync(f, f);
  const text = files.map(statRecord).join('');
  const ledger = Ledger.load(root);
  ledger.set('outputs', { format: 1, tasks: { t: { at: [0, text.length] } } }, text);
  ledger.set('hashes', { key: 'k', hashes: { t: 'h1' } });
  ledger.save();
  return { root, files, text };
}

describe('Ledger', () => {
  it('is empty where there is none', () => {
    const l = Ledger.load(tmp());
    expect(l.get('pipeline')).toBeUndefined();
    expect(l.outputText).toBe('');
    expect(l.outputList).toBe('');
  });

  it('round-trips its sections, the output records and the list of their paths', () => {
    const { root, files, text } = withOutputs();
    const l = Ledger.load(root);
    expect(l.get('hashes')).toEqual({ key: 'k', hashes: { t: 'h1' } });
    expect(l.get('outputs')).toEqual({ format: 1, tasks: { t: { at: [0, text.length] } } });
    expect(l.outputText).toBe(text);
    expect(l.outputList).toBe(`${files.join('\0')}\0`);
    expect(l.get('pipeline')).toBeUndefined();
  });

  it('keeps non-ASCII text intact across the lengths in its header', () => {
    const root = tmp();
    const l = Ledger.load(root);
    l.set('pipeline', { name: 'ünïcode ✓ 🚀' });
    l.set('outputs', { format: 1 }, `1 0.000000000 0.000000000 1 81a4 ${root}/dïst/✓\0`);
    l.save();
    const back = Ledger.load(root);
    expect(back.get('pipeline')).toEqual({ name: 'ünïcode ✓ 🚀' });
    expect(back.outputList).toBe(`${root}/dïst/✓\0`);
  });

  it.each([
    ['garbage', () => 'not a ledger at all'],
    ['an empty file', () => ''],
    ['a truncated file', (all: string) => all.slice(0, Math.floor(all.length / 2))],
    ['damaged sections', (all: string) => all.replace('"hashes"', '"hashes')],
    ['another version', (all: string) => all.replace('{"v":1,', '{"v":99,')],
  ])('reads %s as empty', (_what, damage) => {
    const { root } = withOutputs();
    const file = ledgerFile(root);
    writeFileSync(file, damage(readFileSync(file, 'utf8')));
    const l = Ledger.load(root);
    expect(l.get('hashes')).toBeUndefined();
    expect(l.get('outputs')).toBeUndefined();
    expect(l.outputText).toBe('');
    expect(l.outputList).toBe('');
  });

  it('saves only the sections it changed, over what another process wrote since it loaded', () => {
    const { root, text } = withOutputs();
    const mine = Ledger.load(root);
    const theirs = Ledger.load(root);
    theirs.set('hashes', { key: 'k2', hashes: { t: 'h2' } });
    theirs.save();
    mine.set('pipeline', { p: 1 });
    mine.save();
    const l = Ledger.load(root);
    expect(l.get('pipeline')).toEqual({ p: 1 });
    // Theirs survives mine; the outputs, which neither changed, are as they were.
    expect(l.get('hashes')).toEqual({ key: 'k2', hashes: { t: 'h2' } });
    expect(l.outputText).toBe(text);
  });

  it('writes nothing when nothing changed', () => {
    const { root } = withOutputs();
    const before = statSync(ledgerFile(root));
    const l = Ledger.load(root);
    l.get('outputs');
    l.save();
    const after = statSync(ledgerFile(root));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it.runIf(process.getuid?.() !== 0)('leaves a read-only checkout as it was, without failing', () => {
    const root = tmp();
    chmodSync(root, 0o555);
    try {
      const l = Ledger.load(root);
      l.set('pipeline', { p: 1 });
      expect(() => l.save()).not.toThrow();
      expect(Ledger.load(root).get('pipeline')).toBeUndefined();
    } finally {
      chmodSync(root, 0o755);
    }
  });
});

describe('racy entries: the hash memo section refuses what a stat record cannot vouch for', () => {
  it('is not recorded while a file it read is racy, and not recalled once that file changed', async () => {
    const { recall, remember } = await import('../cache/hash-memo.js');
    const root = tmp();
    const file = path.join(root, 'input.txt');
    writeFileSync(file, 'one');
    const hashes = new Map([['t', 'h1' as never]]);
    const ledger = Ledger.load(root);
    // Just written: racy, so nothing is recorded.
    remember(ledger, 'key', { hashes, reads: new Map([[file, statRecord(file)]]) });
    expect(ledger.get('hashes')).toBeUndefined();
    // A record from before the window (as an older run would have left it) is recorded...
    const old = statRecord(file).replace(/ (\d+)\.(\d+) (\d+)\.(\d+) /, ' 1000.000000000 1000.000000000 ');
    remember(ledger, 'key', { hashes, reads: new Map([[file, old]]) });
    expect(ledger.get('hashes')).toBeDefined();
    // ...but never recalled while the file's record differs from it, nor under another key.
    expect(recall(ledger, 'key')).toBeUndefined();
    remember(ledger, 'key', { hashes, reads: new Map() });
    expect(recall(ledger, 'key')?.hashes.get('t')).toBe('h1');
    expect(recall(ledger, 'other key')).toBeUndefined();
  });
});

describe('the first ledger in a checkout an older Slipway used', () => {
  it('removes the separate state files it replaces, and nothing else', () => {
    const root = tmp();
    const dir = path.join(root, '.slipway');
    mkdirSync(dir);
    const old = ['outputs.state', 'outputs.state.list', 'hashes.state', 'pipeline.snapshot.json'];
    for (const n of [...old, 'history.db']) writeFileSync(path.join(dir, n), 'old');
    const l = Ledger.load(root);
    l.set('pipeline', { p: 1 });
    l.save();
    expect(readdirSync(dir).sort()).toEqual(['history.db', 'ledger']);
  });
});

describe('Ledger.ahead (read while the daemon spare waits)', () => {
  it('hands the command the ledger it read when the file is unchanged, once', () => {
    const { root, text } = withOutputs();
    const ahead = Ledger.ahead(root);
    const l = ahead.take(root);
    expect(l.get('hashes')).toEqual({ key: 'k', hashes: { t: 'h1' } });
    expect(l.outputText).toBe(text);
    // A second command (or another folder) reads the file itself.
    expect(ahead.take(root)).not.toBe(l);
    expect(ahead.take(root).get('hashes')).toEqual({ key: 'k', hashes: { t: 'h1' } });
  });

  it('reads the file again when another command wrote it after the read', () => {
    const { root } = withOutputs();
    const ahead = Ledger.ahead(root);
    const other = Ledger.load(root);
    other.set('hashes', { key: 'k2', hashes: { t: 'h2' } });
    other.save();
    expect(ahead.take(root).get('hashes')).toEqual({ key: 'k2', hashes: { t: 'h2' } });
  });

  it('reads the file again when it was removed, or appeared, after the read', () => {
    const { root } = withOutputs();
    const ahead = Ledger.ahead(root);
    rmSync(ledgerFile(root));
    expect(ahead.take(root).get('hashes')).toBeUndefined();

    const fresh = tmp();
    const before = Ledger.ahead(fresh);
    const l = Ledger.load(fresh);
    l.set('hashes', { key: 'k3', hashes: {} });
    l.save();
    expect(before.take(fresh).get('hashes')).toEqual({ key: 'k3', hashes: {} });
  });

  it('is not used for another checkout', () => {
    const { root } = withOutputs();
    const other = tmp();
    expect(Ledger.ahead(root).take(other).get('hashes')).toBeUndefined();
  });
});
