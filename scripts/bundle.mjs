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

// The dashboard's front end (slipway serve, report --html): one browser script and one
// stylesheet, bundled from web/ with no CDN, served from memory by the server.
await build({
  entryPoints: ['web/app.ts'],
  outfile: 'dist/dashboard/app.js',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  entryPoints: ['web/app.css'],
  outfile: 'dist/dashboard/app.css',
  bundle: true,
  minify: true,
  logLevel: 'warning',
});

// The deploy bench's deployer process (bench/deploy-driver.ts), bundled as the CLI is: its
// start-up, counted in every deploy it times, is then the start-up `slipway deploy` has.
await build({
  entryPoints: ['dist/bench/deploy-driver.js'],
  outfile: 'dist/bench/deploy-driver.bundle.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3', 'pg'],
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
  logLevel: 'warning',
});
