import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntry } from './entry.js';
import { LocalStore } from './local-store.js';

const meta = (hash: string) => ({
  v: 1 as const,
  taskId: 't',
  hash,
  durationMs: 1234,
  createdAt: 1,
  log: 'built\n',
});
const h = (c: string) => c.repeat(64);

// Each test's store folder, removed once its writes settled (a write still on its way would
// otherwise fail into a folder that is gone).
const stores: LocalStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) {
    await s.settle();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

function freshStore(): LocalStore {
  const store = new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'slipway-store-')));
  stores.push(store);
  return store;
}

describe('local store', () => {
  it('returns what was written, with its log and duration', () => {
    const store = freshStore();
    store.write(h('a'), encodeEntry(meta(h('a')), Buffer.from('archive')));
    const r = store.read(h('a'));
    expect(r.kind).toBe('hit');
    if (r.kind !== 'hit') return;
    expect(r.entry.meta.log).toBe('built\n');
    expect(r.entry.meta.durationMs).toBe(1234);
    expect(r.entry.archive.toString()).toBe('archive');
    expect(store.read(h('b')).kind).toBe('missing');
  });

  it('reports a damaged entry instead of returning it', async () => {
    const store = freshStore();
    store.write(h('a'), encodeEntry(meta(h('a')), Buffer.from('archive bytes')));
    await store.settle();
    const file = store.entryPath(h('a'));
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 40) ^ 0xff, bytes.length - 40);
    writeFileSync(file, bytes);
    const r = store.read(h('a'));
    expect(r.kind).toBe('damaged');
    // An intact entry stored under another hash is not served either.
    store.write(h('c'), encodeEntry(meta(h('d')), Buffer.from('x')));
    expect(store.read(h('c')).kind).toBe('damaged');
  });

  it('evicts least recently used entries first', async () => {
    const store = freshStore();
    const body = Buffer.alloc(1000);
    const ids = ['a', 'b', 'c', 'd'].map(h);
    for (const id of ids) store.write(id, encodeEntry(meta(id), body));
    expect(await store.settle()).toEqual([]);
    ids.forEach((id, i) => {
      const t = new Date(Date.now() - (10 - i) * 60_000);
      utimesSync(store.entryPath(id), t, t);
    });
    store.touch(ids[0]!); // used just now: the newest
    const size = store.list()[0]!.size;
    const r = store.prune(size * 2 + 10);
    expect(r.removed).toBe(2);
    expect(store.has(ids[0]!)).toBe(true);
    expect(store.has(ids[1]!)).toBe(false);
    expect(store.has(ids[2]!)).toBe(false);
    expect(store.has(ids[3]!)).toBe(true);
  });

  it('puts entries in place by settle(), answering from memory until then, and leaves no temp file', async () => {
    const store = freshStore();
    const dir = store.dir;
    const bytes = encodeEntry(meta(h('e')), Buffer.from('archive'));
    store.write(h('e'), bytes);
    expect(store.has(h('e'))).toBe(true);
    expect(store.read(h('e')).kind).toBe('hit');
    expect(await store.settle()).toEqual([]);
    expect(readFileSync(store.entryPath(h('e')))).toEqual(bytes);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    // A fresh store (another run) finds it on disk.
    expect(new LocalStore(dir).read(h('e')).kind).toBe('hit');
  });

  it('never puts an entry removed while on its way to the disk in place', async () => {
    const store = freshStore();
    const dir = store.dir;
    store.write(h('f'), encodeEntry(meta(h('f')), Buffer.from('archive')));
    store.remove(h('f'));
    expect(store.has(h('f'))).toBe(false);
    await store.settle();
    expect(existsSync(store.entryPath(h('f')))).toBe(false);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });
});
