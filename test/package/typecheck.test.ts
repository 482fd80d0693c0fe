/**
 * The sources type-check. `npm run build` compiles file by file with esbuild, which strips types
 * without checking them (scripts/compile.mjs), so the check runs here, where `npm test` (and so
 * CI) runs it beside the other end-to-end tests instead of before all of them: the same
 * `npm run typecheck` a developer runs, over src/, bench/, test/ and the dashboard's web/.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

/** `tsc --noEmit -p PROJECT`: its exit code and what it printed (the errors, file:line:col). */
function typecheck(project: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Incremental, its record kept beside the dependencies (node_modules/.cache): a checkout's
    // second run checks only what changed since (a fresh clone checks everything).
    const info = path.join(
      root,
      'node_modules/.cache/slipway',
      `tsc-${project === '.' ? 'root' : project}.tsbuildinfo`,
    );
    const args = [
      tsc,
      '--noEmit',
      '--incremental',
      '--tsBuildInfoFile',
      info,
      '--pretty',
      'false',
      '-p',
      project,
    ];
    const child = spawn(process.execPath, args, { cwd: root });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

// tsc takes 15-20 s of CPU for the whole tree: minutes on a loaded two-core machine.
describe('types', { timeout: 600_000 }, () => {
  it('src, bench and test type-check (tsconfig.json)', async () => {
    const r = await typecheck('.');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it("the dashboard's front end type-checks (web/tsconfig.json)", async () => {
    const r = await typecheck('web');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });
});
