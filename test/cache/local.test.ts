/**
 * The local cache end to end through the built CLI: hits on an unchanged second run, exact
 * restores, reruns limited to what an edit affects, `slipway why`, damaged and hostile entries.
 */
import { readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEntry } from '../../src/cache/entry.js';
import { STACK_FRAME, type Workspace } from '../helpers/cli.js';
import { fixture, runWithSummary, snapshotTree } from './fixture.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});
function repo(): Workspace {
  const w = fixture();
  made.push(w);
  return w;
}

function entryFiles(w: Workspace): string[] {
  const root = w.path('.slipway/cache/entries');
  return readdirSync(root).flatMap((shard) =>
    readdirSync(path.join(root, shard)).map((n) => path.join(root, shard, n)),
  );
}

describe('local cache', () => {
  it('second run hits every cacheable task, replays logs and reports the time saved', async () => {
    const w = repo();
    const first = await runWithSummary(w);
    expect(first.r.code, first.output).toBe(0);
    expect(first.cache).toEqual({ lib: 'miss', app: 'miss', other: 'miss', notify: 'disabled' });
    const inode = statSync(w.path('lib/dist/lib.js')).ino;

    const second = await runWithSummary(w, ['--output-logs=full']);
    expect(second.r.code, second.output).toBe(0);
    expect(second.cache).toEqual({
      lib: 'hit-local',
      app: 'hit-local',
      other: 'hit-local',
      notify: 'disabled',
    });
    expect(second.output).toContain('built lib'); // the log is replayed (CI's default, new-only, would not)
    // Outputs already in place are not copied again.
    expect(statSync(w.path('lib/dist/lib.js')).ino).toBe(inode);
    const saved = (second.s as unknown as { cache: { savedMs: number; hits: number } }).cache;
    expect(saved.hits).toBe(3);
    expect(saved.savedMs).toBeGreaterThan(0);
    expect(second.r.stdout).toMatch(/3 cached, saved/);
    // cache: false runs every time.
    expect(w.read('notified.txt').trim().split('\n')).toHaveLength(2);
    // Same hashes on both runs.
    for (const t of second.s.tasks) expect(t.hash).toBe(first.s.byId.get(t.id)?.hash);
  });

  it('restores deleted outputs byte for byte and mode for mode, and removes stale files', async () => {
    const w = repo();
    await runWithSummary(w);
    const before = { lib: snapshotTree(w.path('lib/dist')), app: snapshotTree(w.path('app/dist')) };
    expect(before.lib['current.js']).toBe('link -> lib.js');
    expect(before.lib['run.sh']).toMatch(/^file 750 /);

    rmSync(w.path('lib/dist'), { recursive: true });
    rmSync(w.path('app/dist'), { recursive: true });
    writeFileSync(w.path('other/out/stale.txt'), 'left over');
    const again = await runWithSummary(w);
    expect(again.cache.lib).toBe('hit-local');
    expect(again.cache.other).toBe('hit-local');
    expect(snapshotTree(w.path('lib/dist'))).toEqual(before.lib);
    expect(snapshotTree(w.path('app/dist'))).toEqual(before.app);
    expect(w.exists('other/out/stale.txt')).toBe(false);

    // A modified output is put back too.
    writeFileSync(w.path('lib/dist/lib.js'), 'tampered');
    await runWithSummary(w);
    expect(snapshotTree(w.path('lib/dist'))).toEqual(before.lib);
  });

  it('one input edit reruns exactly that task and its dependents; why names the file', async () => {
    const w = repo();
    await runWithSummary(w);
    w.write('lib/src/b.js', 'export const b = 3;\n');
    const why = await w.run(['why', 'lib']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(/files changed: src\/b\.js/);

    const after = await runWithSummary(w);
    expect(after.cache).toEqual({ lib: 'miss', app: 'miss', other: 'hit-local', notify: 'disabled' });
    expect(w.read('app/dist/app.js')).toContain('b = 3');

    const whyApp = await w.run(['why', 'app']);
    expect(whyApp.stdout).toMatch(/dependency lib changed/);
    expect(whyApp.stdout).toMatch(/lib changed because:\n\s+files changed: src\/b\.js/);
    const json = JSON.parse((await w.run(['why', 'lib', '--json'])).stdout) as {
      diff: { files: { changed: string[] } };
    };
    expect(json.diff.files.changed).toEqual(['src/b.js']);

    const forced = await runWithSummary(w, ['--force']);
    expect(forced.cache.lib).toBe('miss');
    expect(forced.cache.other).toBe('miss');
  });

  it('a damaged entry is a miss with a warning, never a restore', async () => {
    const w = repo();
    await runWithSummary(w);
    for (const f of entryFiles(w)) {
      const b = readFileSync(f);
      b.writeUInt8(b.readUInt8(b.length - 50) ^ 0x55, b.length - 50);
      writeFileSync(f, b);
    }
    rmSync(w.path('lib/dist'), { recursive: true });
    const r = await runWithSummary(w);
    expect(r.r.code, r.output).toBe(0);
    expect(r.cache.lib).toBe('miss');
    expect(r.output).toMatch(/damaged/);
    expect(r.output).not.toMatch(STACK_FRAME);
    expect(w.read('lib/dist/lib.js')).toContain('a = 1');
    // The rebuilt entry is good again.
    rmSync(w.path('lib/dist'), { recursive: true });
    expect((await runWithSummary(w)).cache.lib).toBe('hit-local');
  });

  it('refuses an entry whose archive holds ../ or an escaping symlink, and an output symlink that escapes', async () => {
    const w = repo();
    const first = await runWithSummary(w);
    const hash = first.s.byId.get('other')?.hash as string;
    const hostile = (headers: object[], data = '') => {
      const parts = [Buffer.from('SLPWAR01')];
      for (const h of headers) {
        const j = Buffer.from(JSON.stringify(h));
        const len = Buffer.alloc(4);
        len.writeUInt32BE(j.length);
        parts.push(len, j, Buffer.from(data));
      }
      parts.push(Buffer.alloc(4));
      const meta = { v: 1 as const, taskId: 'other', hash, durationMs: 1, createdAt: 0, log: 'evil\n' };
      const [f] = entryFiles(w).filter((p) => p.endsWith(hash));
      writeFileSync(f as string, encodeEntry(meta, Buffer.concat(parts)));
    };
    rmSync(w.path('other/out'), { recursive: true });

    hostile([{ p: 'out/../../escaped.txt', t: 'f', m: 0o644, s: 4 }], 'evil');
    let r = await runWithSummary(w);
    expect(r.cache.other).toBe('miss');
    expect(r.output).toMatch(/refusing cache entry .* unsafe path/);
    expect(w.exists('escaped.txt')).toBe(false);

    rmSync(w.path('other/out'), { recursive: true });
    hostile([{ p: 'out/link', t: 'l', m: 0o777, l: '../../..' }]);
    r = await runWithSummary(w);
    expect(r.cache.other).toBe('miss');
    expect(r.output).toMatch(/points outside/);
    expect(readFileSync(w.path('other/out/o.txt'), 'utf8')).toBe('other\n');

    // A task whose outputs contain an escaping symlink is run but not cached.
    symlinkSync('/etc', w.path('other/out/etc'));
    w.write('other/src/o.js', 'changed\n');
    const bad = await w.run(['run', 'other']);
    expect(bad.code).toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/not cached: refusing to archive symlink "out\/etc"/);
  });

  it('cache stats counts entries and recent hits; prune empties the store', async () => {
    const w = repo();
    await runWithSummary(w);
    await runWithSummary(w);
    const stats = await w.run(['cache', 'stats', '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    const s = JSON.parse(stats.stdout) as {
      entries: number;
      bytes: number;
      remote: unknown;
      recentRuns: { hitsLocal: number; misses: number };
    };
    expect(s.entries).toBe(3);
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.remote).toBeNull();
    expect(s.recentRuns).toMatchObject({ hitsLocal: 3, misses: 3 });
    expect((await w.run(['cache', 'stats'])).stdout).toMatch(/entries\s+3 /);

    const pruned = await w.run(['cache', 'prune', '--all']);
    expect(pruned.stdout).toMatch(/removed 3 entries/);
    rmSync(w.path('lib/dist'), { recursive: true });
    expect((await runWithSummary(w)).cache.lib).toBe('miss');
    const bad = await w.run(['cache', 'prune', '--max-size', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad size "lots"/);
  });
});
