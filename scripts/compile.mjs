// Compiles src/ and bench/ (tests left out) into dist/, one JavaScript file per TypeScript file,
// with esbuild: type annotations are stripped file by file, which `verbatimModuleSyntax` in
// tsconfig.json makes exact (every type-only import says so). About a second, where `tsc` took
// 15-20 s of CPU; type checking is `npm run typecheck`, which `npm test` runs as one of its tests
// (test/package/typecheck.test.ts) and `npm pack` before it builds.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/** Every .ts file under `dir` but tests. */
function sources(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

// A file deleted from src/ must not live on in dist/.
for (const dir of ['dist/src', 'dist/bench']) rmSync(dir, { recursive: true, force: true });

await build({
  entryPoints: [...sources('src'), ...sources('bench')],
  outbase: '.',
  outdir: 'dist',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
