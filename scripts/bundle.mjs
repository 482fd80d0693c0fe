// Bundles the compiled CLI (dist/src) into dist/cli: a few files instead of ~500 modules, which
// more than halves start-up time. Each command stays its own chunk, loaded only when it runs.
// The native SQLite binding and the optional PostgreSQL client stay external.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
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

// The cold deploy bundle (src/cli/cold-start.ts): the CLI with only the deploy command, as one
// CommonJS file, which bin/slipway.js compiles from a V8 code cache (src/cli/code-cache.ts) when
// a deploy runs without the daemon. Every other command's module is a stub that throws: the
// bundle runs only for `deploy`. Dynamic imports become require() (vm.Script has no import()),
// import.meta.url the bundle's own URL, which sits in dist/cli as the ES modules do, so that what
// they find beside them (cdc-worker.js, daemon-server.js, the package's files) is found alike.
const onlyDeploy = {
  name: 'only-deploy',
  setup(b) {
    b.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (a) => {
      if (!a.importer.endsWith('/cli/commands.js') || a.path === './deploy.js') return undefined;
      return { path: a.path, namespace: 'not-in-cold-deploy' };
    });
    b.onLoad({ filter: /.*/, namespace: 'not-in-cold-deploy' }, (a) => ({
      contents: `throw new Error('slipway: ${a.path} is not in the cold deploy bundle');`,
      loader: 'js',
    }));
  },
};
// better-sqlite3's JavaScript inside the cold bundle, so that it too comes from the code cache
// instead of ~10 files compiled from source at each cold deploy (~6-9 ms of CPU): used only when
// the installed package is the version copied here, with its compiled module where
// store/better-sqlite3-binding.ts finds it; else the installed package, as the ES modules do.
const sqliteDir = path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
const sqliteVersion = JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8')).version;
const bundledSqlite = {
  name: 'bundled-better-sqlite3',
  setup(b) {
    b.onResolve({ filter: /^better-sqlite3$/ }, (a) =>
      a.namespace === 'bundled-better-sqlite3' ? undefined : { path: 'better-sqlite3', namespace: 'bundled-better-sqlite3' },
    );
    b.onLoad({ filter: /.*/, namespace: 'bundled-better-sqlite3' }, () => ({
      contents: [
        `const { bundledCopyFits } = require(${JSON.stringify(path.resolve('dist/src/store/better-sqlite3-binding.js'))});`,
        `module.exports = bundledCopyFits(${JSON.stringify(sqliteVersion)})`,
        `  ? require(${JSON.stringify(path.join(sqliteDir, 'lib/index.js'))})`,
        `  : require('better-sqlite3');`,
      ].join('\n'),
      resolveDir: path.resolve('dist/src/store'),
      loader: 'js',
    }));
  },
};
// What the cold deploy bundle and its parts share: CommonJS for Node 20, import.meta.url the
// file's own URL, dynamic imports as require(). The parts (src/cli/cold-chunk.ts): what the
// bundle imports dynamically and most deploys never run (the pipeline loader with YAML and zod,
// the delta requests' schema with zod, the OpenTelemetry exporter), each a file of its own
// required with a code cache of its own when first imported; a part takes the modules it shares
// with the bundle from the bundle.
const coldOptions = {
  ...forNode,
  format: 'cjs',
  // `bindings`: better-sqlite3's own lookup of its compiled module, never asked by its copy here.
  external: [...withNativeDeps.external, 'bindings'],
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__slipwayImportMetaUrl' },
  // First, so that its "use strict" is the directive of the whole file (ES modules are strict).
  banner: { js: `"use strict";const __slipwayImportMetaUrl = require('node:url').pathToFileURL(__filename).href;` },
};
const srcRoot = path.resolve('dist/src');
const coldParts = [
  { file: 'cold-config.cjs', entry: 'config/load.js' },
  { file: 'cold-delta-schema.cjs', entry: 'deploy/delta-schema.js' },
  { file: 'cold-otel-deploys.cjs', entry: 'telemetry/otel-deploys.js' },
  { file: 'cold-otel-runs.cjs', entry: 'telemetry/otel-runs.js' },
].map((p) => ({ ...p, entry: path.join(srcRoot, p.entry) }));
/** The bundle's dynamic imports of its parts, each as `contents(part)`. */
const partsOf = (contents) => ({
  name: 'cold-parts',
  setup(b) {
    b.onResolve({ filter: /\.js$/ }, (a) => {
      if (a.kind !== 'dynamic-import') return undefined;
      const abs = path.resolve(a.resolveDir, a.path);
      const part = coldParts.find((p) => p.entry === abs);
      return part && { path: part.file, namespace: 'cold-parts' };
    });
    b.onLoad({ filter: /.*/, namespace: 'cold-parts' }, (a) => ({
      contents: contents(coldParts.find((p) => p.file === a.path)),
      resolveDir: srcRoot,
      loader: 'js',
    }));
  },
});
// 1. Which modules the bundle holds without its parts.
const coldInputs = await build({
  entryPoints: ['dist/src/cli/deploy-bundle.js'],
  ...coldOptions,
  plugins: [onlyDeploy, bundledSqlite, partsOf(() => 'module.exports = {};')],
  outfile: 'dist/cli/cold-deploy.cjs',
  write: false,
  metafile: true,
}).then((r) => new Set(Object.keys(r.metafile.inputs).map((f) => path.resolve(f))));
// 2. Each part, taking those modules from the bundle (`slipway-cold:<path under dist/src>`).
for (const part of coldParts) {
  part.linked = new Set();
  await build({
    entryPoints: [part.entry],
    ...coldOptions,
    plugins: [
      {
        name: 'linked-to-cold-deploy',
        setup(b) {
          b.onResolve({ filter: /^\./ }, (a) => {
            const abs = path.resolve(a.resolveDir, a.path);
            if (abs === part.entry || !coldInputs.has(abs)) return undefined;
            const id = path.relative(srcRoot, abs);
            part.linked.add(id);
            return { path: `slipway-cold:${id}`, external: true };
          });
        },
      },
    ],
    outfile: `dist/cli/${part.file}`,
    sourcemap: true,
  });
}
// 3. The bundle, its dynamic imports of a part requiring it (src/cli/cold-chunk.ts).
const loadPart = (part) => {
  const shared = [...part.linked].map(
    (id) => `${JSON.stringify(id)}: () => require(${JSON.stringify(path.join(srcRoot, id))})`,
  );
  const loader = JSON.stringify(path.join(srcRoot, 'cli/cold-chunk.js'));
  return `module.exports = require(${loader}).loadColdChunk(${JSON.stringify(part.file)}, { ${shared.join(', ')} });`;
};
await build({
  entryPoints: ['dist/src/cli/deploy-bundle.js'],
  ...coldOptions,
  plugins: [onlyDeploy, bundledSqlite, partsOf(loadPart)],
  outfile: 'dist/cli/cold-deploy.cjs',
  sourcemap: true,
});
for (const file of ['dist/cli/cold-deploy.cjs', ...coldParts.map((p) => `dist/cli/${p.file}`)]) {
  const code = readFileSync(file);
  // Read as Latin-1 (faster than UTF-8, the same text only for ASCII): esbuild escapes the rest.
  if (code.some((c) => c > 0x7f)) throw new Error(`${file} is not ASCII`);
  const sha256 = createHash('sha256').update(code).digest('hex');
  writeFileSync(`${file}.json`, `${JSON.stringify({ sha256 })}\n`);
}
// What bin/slipway.js loads first: the daemon's client (src/daemon/client.ts) and the choice of
// the cold deploy bundle (src/cli/cold-start.ts), one file of their own, not a handful of shared
// chunks, since every command pays for loading it (a second file cost every command ~2.5 ms).
await build({
  stdin: {
    contents: [
      "export { nativeVerdict, viaDaemon } from './dist/src/daemon/client.js';",
      "export { coldCli } from './dist/src/cli/cold-start.js';",
    ].join('\n'),
    resolveDir: '.',
    sourcefile: 'launch.js',
  },
  // CommonJS, required by bin/slipway.js (CommonJS too): a cold deploy, whose bundle is CommonJS,
  // then never starts the ES module loader. import.meta.url is the file's own URL, as above.
  ...forNode,
  format: 'cjs',
  define: coldOptions.define,
  banner: coldOptions.banner,
  outfile: 'dist/cli/launch.cjs',
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
