import { build } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
const r = await build({
  entryPoints: { main: 'dist/src/cli/main.js', prefetch: 'dist/src/cli/prefetch.js', 'daemon-server': 'dist/src/daemon/server.js', 'daemon-spare': 'dist/src/cli/spare.js' },
  bundle: true, format: 'esm', platform: 'node', target: 'node20', minifyWhitespace: true, minifySyntax: true, logLevel: 'warning',
  external: ['better-sqlite3', 'pg', 'zstd-napi'],
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
  outdir: 'dist/cli', splitting: true, metafile: true, write: false, sourcemap: true,
});
const outs = r.metafile.outputs;
const prof = JSON.parse(readFileSync(readdirSync(process.argv[2]).map((f) => `${process.argv[2]}/${f}`)[0], 'utf8'));
const urls = new Set(prof.nodes.map((n) => n.callFrame.url).filter((u) => u.includes('/dist/cli/')).map((u) => 'dist/cli/' + u.replace(/.*\/dist\/cli\//, '')));
for (const u of urls) {
  const o = outs[u]; if (!o) { console.log('?', u); continue; }
  const pk = {};
  for (const [k, v] of Object.entries(o.inputs)) { const m = k.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const key = m ? m[1] : k.replace(/\/[^/]+$/, ''); pk[key] = (pk[key] ?? 0) + v.bytesInOutput; }
  console.log(u, o.bytes, Object.entries(pk).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => `${k}:${v}`).join(' '));
}
