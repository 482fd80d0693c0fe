/** Kubernetes manifests: multi-document YAML (kubectl, Helm or Kustomize output) with a line for every path. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';

export type YamlPath = readonly (string | number)[];

export interface Manifest {
  file: string;
  kind: string;
  name: string;
  namespace: string;
  data: Record<string, unknown>;
  /** Line and column of a path's key (or item), or of the nearest ancestor that exists. */
  at(p: YamlPath): { line: number; col: number };
}

export interface ManifestError {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** Parses every document of a YAML text; `List` kinds are flattened. */
export function parseManifests(
  file: string,
  text: string,
): { manifests: Manifest[]; errors: ManifestError[] } {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const manifests: Manifest[] = [];
  const errors: ManifestError[] = [];
  const pos = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      for (const e of doc.errors) errors.push({ file, ...pos(e.pos[0]), message: e.message.split('\n')[0]! });
      continue;
    }
    const data = doc.toJS() as unknown;
    if (!data || typeof data !== 'object' || Array.isArray(data)) continue;
    const root = doc.contents as Node | null;
    const add = (d: Record<string, unknown>, prefix: YamlPath) => {
      const meta = (d.metadata ?? {}) as Record<string, unknown>;
      manifests.push({
        file,
        kind: String(d.kind ?? ''),
        name: String(meta.name ?? ''),
        namespace: String(meta.namespace ?? 'default'),
        data: d,
        at: (p) => locate(root, [...prefix, ...p], pos),
      });
    };
    const d = data as Record<string, unknown>;
    if (String(d.kind ?? '').endsWith('List') && Array.isArray(d.items)) {
      d.items.forEach((item, i) => {
        if (item && typeof item === 'object') add(item as Record<string, unknown>, ['items', i]);
      });
    } else add(d, []);
  }
  return { manifests, errors };
}

function locate(root: Node | null, p: YamlPath, pos: (offset: number) => { line: number; col: number }) {
  let node: unknown = root;
  let best = pos((root?.range?.[0] ?? 0) as number);
  for (const seg of p) {
    if (isMap(node)) {
      const pair = node.items.find(
        (x) => isPair(x) && isScalar(x.key) && String(x.key.value) === String(seg),
      );
      if (!pair) return best;
      const key = pair.key as Node;
      if (key.range) best = pos(key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return best;
      if (item.range) best = pos(item.range[0]);
      node = item;
    } else return best;
  }
  return best;
}

/** The YAML files of the given paths: files as given, folders searched recursively. */
export function manifestFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) if (!n.startsWith('.')) walk(path.join(p, n));
    } else if (paths.includes(p) || /\.ya?ml$/i.test(p)) out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

/** Reads and parses files. */
export function loadManifests(files: readonly string[], display: (f: string) => string = (f) => f) {
  const manifests: Manifest[] = [];
  const errors: ManifestError[] = [];
  for (const f of files) {
    const r = parseManifests(display(f), readFileSync(f, 'utf8'));
    manifests.push(...r.manifests);
    errors.push(...r.errors);
  }
  return { manifests, errors };
}
