/**
 * The task's shell (gate.ts) runs nothing until its whole script has arrived: slipway dying
 * before or while writing it (end-of-file early, the last line missing, a quote left open) leaves
 * no command running. Real /bin/sh; asserts what ran, never time.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gateScript, spawnGate } from './gate.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-gate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function feed(text: string): Promise<number | null> {
  const child = spawnGate(dir, process.env);
  child.stdin?.end(text);
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

describe("the task's shell", () => {
  it('runs the command once the whole script is there', async () => {
    const mark = path.join(dir, 'whole');
    expect(await feed(gateScript(`touch '${mark}'`))).toBe(0);
    expect(existsSync(mark)).toBe(true);
  });

  it('runs nothing when the script ends early', async () => {
    const mark = path.join(dir, 'cut');
    const script = gateScript(`touch '${mark}'; exit 0`);
    // Nothing at all; the command without the last line; cut inside the quoted command.
    for (const text of ['', script.slice(0, script.lastIndexOf('slipway_go')), script.slice(0, 25)]) {
      expect(await feed(text)).not.toBe(0);
      expect(existsSync(mark)).toBe(false);
    }
  });
});
