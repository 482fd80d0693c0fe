// Bundles the compiled CLI (dist/src) into dist/cli: a few files instead of ~500 modules, which
// more than halves start-up time. Each command stays its own chunk, loaded only when it runs.
// The native SQLite binding and the optional PostgreSQL client stay external.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear out the previous build's.
rmSync('dist/cli', { recursive: true, force: true });

// What every Node.js bundle here shares: ESM for Node 20, minified whitespace and syntax (names
// kept for stack traces).
const forNode = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};
// The native SQLite binding, the optional zstd addon (loaded lazily by src/deploy/zstd.ts) and the
// optional PostgreSQL client stay external; CommonJS dependencies inside an ESM bundle still call
// require().
const withNativeDeps = {
  external: ['better-sqlite3', 'pg', 'zstd-napi'],
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
};

await build({
  // bin/slipway.js loads prefetch.js before main.js (src/cli/prefetch.ts). The daemon
  // (src/daemon/server.ts) starts daemon-spare.js (src/cli/spare.ts), which shares main.js's
  // chunks, so what it preloads is what a command uses.
  entryPoints: {
    main: 'dist/src/cli/main.js',
    prefetch: 'dist/src/cli/prefetch.js',
    'daemon-server': 'dist/src/daemon/server.js',
    'daemon-spare': 'dist/src/cli/spare.js',
  },
  ...forNode,
  ...withNativeDeps,
  outdir: 'dist/cli',
  splitting: true,
  sourcemap: true,
});

// The worker thread of parallel chunking (src/deploy/cdc-worker.ts): one small file of its own,
// found next to the module that starts it (src/deploy/cdc-pool.ts), here beside the CLI's chunks.
await build({
  entryPoints: ['dist/src/deploy/cdc-worker.js'],
  ...forNode,
  outfile: 'dist/cli/cdc-worker.js',
});

// What bin/slipway.js loads first (src/daemon/client.ts): one file of its own, not a handful of
// shared chunks, since every command pays for loading it.
await build({
  entryPoints: ['dist/src/daemon/client.js'],
  ...forNode,
  outfile: 'dist/cli/daemon-client.js',
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

// The deploy bench's deployer process (bench/deploy-driver.ts), bundled as the CLI is: split, so
// that what the deploy path imports only when needed (zod, for the origin's delta requests:
// 0.6 MB) is a chunk of its own, loaded only then, as in dist/cli. Its start-up, counted in
// every deploy it times, is then that of `slipway deploy`'s deploy code.
rmSync('dist/bench/deploy-driver-chunks', { recursive: true, force: true });
await build({
  entryPoints: { 'deploy-driver.bundle': 'dist/bench/deploy-driver.js' },
  ...forNode,
  ...withNativeDeps,
  outdir: 'dist/bench',
  splitting: true,
  chunkNames: 'deploy-driver-chunks/[name]-[hash]',
});
// Its chunking worker, beside it as beside the CLI's bundle.
await build({
  entryPoints: ['dist/src/deploy/cdc-worker.js'],
  ...forNode,
  outfile: 'dist/bench/cdc-worker.js',
});
