import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { readArchive } from './archive.js';
import { archiveOutputs } from './archive-outputs.js';

const tmp = tempDirs();

function outputs(): string {
  const d = tmp('slipway-archive-outputs-');
  mkdirSync(path.join(d, 'out'));
  writeFileSync(path.join(d, 'out', 'a.txt'), '1\n2\n');
  writeFileSync(path.join(d, 'out', 'b.txt'), 'b\n');
  return d;
}

describe('archiveOutputs', () => {
  it('archives outputs that stayed put', () => {
    const d = outputs();
    const r = archiveOutputs(d, ['out/**']);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const items = readArchive(r.value.archive);
    expect(items.ok && items.value.map((i) => i.path)).toEqual(['out', 'out/a.txt', 'out/b.txt']);
    expect(r.value.scan.entries.map((e) => e.path)).toEqual(['out', 'out/a.txt', 'out/b.txt']);
  });

  it('refuses outputs appended to while being archived (another writer, half done)', () => {
    const d = outputs();
    const r = archiveOutputs(d, ['out/**'], {
      afterArchive: () => appendFileSync(path.join(d, 'out', 'a.txt'), '3\n'),
    });
    expect(r).toEqual({ ok: false, error: expect.stringContaining('"out/a.txt" was written meanwhile') });
  });

  it('refuses outputs that gained a file while being archived', () => {
    const d = outputs();
    const r = archiveOutputs(d, ['out/**'], {
      afterArchive: () => writeFileSync(path.join(d, 'out', 'c.txt'), 'late\n'),
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/changed while being archived/);
  });

  it('refuses outputs that lost a file while being archived', () => {
    const d = outputs();
    const r = archiveOutputs(d, ['out/**'], { afterArchive: () => rmSync(path.join(d, 'out', 'b.txt')) });
    expect(r).toEqual({ ok: false, error: expect.stringContaining('"out/b.txt" appeared or vanished') });
  });
});
