/**
 * The sources type-check. `npm run build` compiles file by file with esbuild, which strips types
 * without checking them (scripts/compile.mjs), so the check runs here, where `npm test` (and so
 * CI) runs it beside the other end-to-end tests instead of before all of them: the same
 * `npm run typecheck` a developer runs, over src/, bench/, test/ and the dashboard's web/.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const execFileAsync = promisify(execFile);

/** `tsc --noEmit -p PROJECT`: its exit code and what it printed (the errors, file:line:col). */
async function typecheck(project: string): Promise<{ code: number; out: string }> {
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
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, args, {
      cwd: root,
      maxBuffer: 64 << 20,
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const failed = e as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
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
