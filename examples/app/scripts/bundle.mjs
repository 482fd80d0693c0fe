// Bundles the compiled CLI (dist/cli.js and the modules it imports) into one file,
// bundle/tally.mjs, with comments and indentation stripped. A deliberately small bundler:
// it handles what tsc emits for this project (single-line named imports, `export` declarations)
// and refuses anything else rather than producing a wrong bundle.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'cli.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const order = [];
const seen = new Set();
const external = new Set();

function visit(file) {
  if (seen.has(file)) return;
  seen.add(file);
  const body = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const rel = line.match(/^import \{([^}]*)\} from '(\.[^']+)';$/);
    if (rel) {
      if (/\bas\b/.test(rel[1]))
        throw new Error(`${relative(root, file)}: aliased imports are not supported`);
      visit(resolve(dirname(file), rel[2]));
      continue;
    }
    if (/^import .* from '[^.][^']*';$/.test(line)) {
      external.add(line);
      continue;
    }
    if (/^import\b/.test(line)) throw new Error(`${relative(root, file)}: unsupported import: ${line}`);
    if (/^export \{.*\} from /.test(line) || line.startsWith('//# sourceMappingURL')) continue;
    body.push(line.replace(/^export (?=(?:async )?function |const |let |class )/, ''));
  }
  order.push({ file, body });
}

visit(entry);

// Modules share one scope once concatenated, so two top-level names must not collide.
const owner = new Map();
for (const { file, body } of order) {
  for (const line of body) {
    const m = line.match(/^(?:async )?function (\w+)|^(?:const|let|class) (\w+)/);
    const name = m?.[1] ?? m?.[2];
    if (!name) continue;
    if (owner.has(name))
      throw new Error(`"${name}" is declared in ${owner.get(name)} and ${relative(root, file)}`);
    owner.set(name, relative(root, file));
  }
}

const minify = (lines) =>
  lines
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('//') && !l.startsWith('/*') && !l.startsWith('*'));

const code = [
  '#!/usr/bin/env node',
  `// ${pkg.name} ${pkg.version}: ${order.length} modules bundled by scripts/bundle.mjs`,
  ...external,
  ...order.flatMap(({ body }) => minify(body)),
  '',
].join('\n');

const before = order.reduce((n, { file }) => n + readFileSync(file).length, 0);
mkdirSync(join(root, 'bundle'), { recursive: true });
writeFileSync(join(root, 'bundle', 'tally.mjs'), code, { mode: 0o755 });
writeFileSync(
  join(root, 'bundle', 'meta.json'),
  `${JSON.stringify({ modules: order.map((m) => relative(root, m.file)), bytesIn: before, bytesOut: code.length }, null, 2)}\n`,
);
console.log(`bundle/tally.mjs: ${order.length} modules, ${before} -> ${code.length} bytes`);
