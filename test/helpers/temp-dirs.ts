/**
 * Temporary folders a test file makes and removes: `tempDirs()` registers, where it is called
 * (a test file's top level), an afterEach (`'all'`: an afterAll, for a suite whose store stays
 * open until its own afterAll) that removes every folder made through the function it returns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';

export function tempDirs(when: 'each' | 'all' = 'each'): (prefix: string) => string {
  const made: string[] = [];
  (when === 'each' ? afterEach : afterAll)(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (prefix) => {
    const d = mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
