// Lists exports no other file imports (tests count as users), so `npm run lint` fails on them.
// Uses the TypeScript compiler API (already a dev dependency): every import, re-export,
// `import('…')` type and dynamic `await import('…')` is resolved to the symbol it names, and an
// export of src/ or bench/ that nothing resolves to is reported. Entry points (what bin/ and
// `npm run bench` load) are exempt, and so are exported types their own file uses (they name an
// exported function's options or result: knip's `ignoreExportsUsedInFile` for types). A value
// export used only inside its own file should lose `export`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHECKED = ['src/', 'bench/'];
/** Loaded by bin/slipway.js or npm scripts, not imported; bench/*.ts suites are loaded by name. */
const ENTRIES = new Set([
  'src/cli/main.ts',
  'src/cli/prefetch.ts',
  'src/daemon/client.ts',
  'src/cli/cold-start.ts',
  'src/cli/deploy-bundle.ts',
  // Required by the code scripts/bundle.mjs writes into the cold deploy bundle for its parts.
  'src/cli/cold-chunk.ts',
]);
const isEntry = (name) => ENTRIES.has(name) || /^bench\/[^/]+\.ts$/.test(name);

const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const config = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
const checker = program.getTypeChecker();
const own = program
  .getSourceFiles()
  .filter((f) => !f.isDeclarationFile && !f.fileName.includes('node_modules'));
const rel = (f) => path.relative(root, f.fileName).split(path.sep).join('/');

const used = new Set();
/** Marks a symbol and every alias it goes through (re-exports) as used. */
function use(sym) {
  for (let s = sym, n = 0; s && n < 20; n++) {
    used.add(s);
    if (!(s.flags & ts.SymbolFlags.Alias)) break;
    s = checker.getImmediateAliasedSymbol(s);
  }
}
/** Marks every export of a module (namespace imports, `export *`, an unresolvable use). */
function useAll(moduleSym) {
  if (moduleSym) for (const e of checker.getExportsOfModule(moduleSym)) use(e);
}
const moduleOf = (spec) => checker.getSymbolAtLocation(spec);

function visit(node) {
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
    const clause = ts.isImportDeclaration(node) ? node.importClause : node;
    const bindings = ts.isImportDeclaration(node) ? clause?.namedBindings : node.exportClause;
    if (ts.isImportDeclaration(node) && clause?.name) use(checker.getSymbolAtLocation(clause.name));
    if (!bindings && ts.isExportDeclaration(node) && node.moduleSpecifier)
      useAll(moduleOf(node.moduleSpecifier));
    else if (bindings && (ts.isNamespaceImport(bindings) || ts.isNamespaceExport(bindings)))
      useAll(moduleOf(node.moduleSpecifier));
    else if (bindings && node.moduleSpecifier)
      for (const el of bindings.elements) use(checker.getSymbolAtLocation(el.name));
  } else if (ts.isImportTypeNode(node)) {
    const mod =
      node.argument && ts.isLiteralTypeNode(node.argument) ? moduleOf(node.argument.literal) : undefined;
    if (node.qualifier)
      use(
        checker.getSymbolAtLocation(
          ts.isQualifiedName(node.qualifier) ? node.qualifier.left : node.qualifier,
        ),
      );
    else useAll(mod);
  } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
    dynamicImport(node);
  }
  ts.forEachChild(node, visit);
}

/** `const { a } = await import('x')` and `(await import('x')).a` mark a; anything else marks all. */
function dynamicImport(call) {
  const spec = call.arguments[0];
  const mod = spec && ts.isStringLiteralLike(spec) ? moduleOf(spec) : undefined;
  if (!mod) return;
  let outer = call.parent;
  while (outer && (ts.isAwaitExpression(outer) || ts.isParenthesizedExpression(outer))) outer = outer.parent;
  const byName = (name) => {
    const e = checker.getExportsOfModule(mod).find((x) => x.escapedName === name);
    if (e) use(e);
  };
  if (outer && ts.isVariableDeclaration(outer) && ts.isObjectBindingPattern(outer.name)) {
    for (const el of outer.name.elements) byName((el.propertyName ?? el.name).getText());
  } else if (outer && ts.isPropertyAccessExpression(outer)) {
    byName(outer.name.text);
  } else {
    useAll(mod);
  }
}

for (const f of own) visit(f);

/** Type-only exports referenced in their own file (they name a parameter or result of an export). */
function typesUsedInFile(f) {
  const out = new Set();
  const walk = (node) => {
    if (
      ts.isIdentifier(node) &&
      !(node.parent && ts.isDeclaration(node.parent) && node.parent.name === node)
    ) {
      const s = checker.getSymbolAtLocation(node);
      if (s && s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))
        out.add(checker.getExportSymbolOfSymbol(s));
    }
    ts.forEachChild(node, walk);
  };
  walk(f);
  return out;
}

const unused = [];
for (const f of own) {
  const name = rel(f);
  if (
    !CHECKED.some((d) => name.startsWith(d)) ||
    isEntry(name) ||
    name.endsWith('.test.ts')
  )
    continue;
  const mod = checker.getSymbolAtLocation(f);
  if (!mod) continue;
  const typesInFile = typesUsedInFile(f);
  for (const e of checker.getExportsOfModule(mod)) {
    if (used.has(e) || typesInFile.has(e)) continue;
    const decl = e.declarations?.[0];
    // Module augmentations (`declare module '…' { interface Database … }`) are not exports.
    if (!decl || decl.getSourceFile() !== f) continue;
    const { line } = f.getLineAndCharacterOfPosition(decl.getStart());
    unused.push(`${name}:${line + 1}  ${e.name}`);
  }
}

if (unused.length) {
  process.stderr.write(
    `${unused.length} export(s) no other file uses (remove them, or drop \`export\` if used in the file):\n`,
  );
  process.stderr.write(
    `${unused
      .sort()
      .map((u) => `  ${u}`)
      .join('\n')}\n`,
  );
  process.exitCode = 1;
} else {
  process.stdout.write('unused exports: none\n');
}
