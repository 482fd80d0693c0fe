import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { betterSqliteBinding, bundledCopyFits } from './better-sqlite3-binding.js';

const installed = (createRequire(import.meta.url)('better-sqlite3/package.json') as { version: string })
  .version;

describe('bundledCopyFits', () => {
  it('takes a copy of the installed version only, and only with the compiled module found', () => {
    expect(bundledCopyFits(installed)).toBe(betterSqliteBinding() !== undefined);
    expect(bundledCopyFits(`${installed}-other`)).toBe(false);
    expect(bundledCopyFits('0.0.0')).toBe(false);
  });

  it("finds the compiled module in its install's build/Release", () => {
    expect(betterSqliteBinding()).toMatch(/better-sqlite3[/\\]build[/\\]Release[/\\]better_sqlite3\.node$/);
  });
});
