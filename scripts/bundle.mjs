// Bundles the compiled CLI (dist/src) into dist/cli: a few files instead of ~500 modules, which
// more than halves start-up time. Each command stays its own chunk, loaded only when it runs.
// The native SQLite binding and the optional PostgreSQL client stay external.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear out the previous build's.
rmSync('dist/cli', { recursive: true, force: true });

await build({
  // prefetch.js is what bin/slipway.js loads before main.js (see src/cli/prefetch.ts).
  entryPoints: ['dist/src/cli/main.js', 'dist/src/cli/prefetch.js'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3', 'pg'],
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
  logLevel: 'warning',
});
