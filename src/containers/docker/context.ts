/** The build context as `docker build` sends it: files and bytes after .dockerignore, and what more ignoring would save. */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type DockerIgnore, parseDockerIgnore } from './dockerignore.js';

export interface ContextSize {
  files: number;
  bytes: number;
}

export interface ContextReport {
  dir: string;
  /** The .dockerignore used (context root, or `<Dockerfile>.dockerignore` beside the Dockerfile). */
  ignoreFile: string | null;
  sent: ContextSize;
  /** Top-level entries that are sent and are usually not wanted in an image build, with their size. */
  candidates: { name: string; size: ContextSize }[];
  /** Sent files the caller asked for (`collect`). */
  collected: string[];
}

/** Names that rarely belong in a build context: dependencies, VCS data, build outputs, caches. */
const UNWANTED = [
  'node_modules',
  '.git',
  'dist',
  'build',
  'coverage',
  '.next',
  '.turbo',
  '.slipway',
  'out',
  'target',
  '.cache',
];

/** Reads the .dockerignore BuildKit would use for `dockerfile` in `dir`. */
export function loadDockerIgnore(
  dir: string,
  dockerfile: string,
): { ignore: DockerIgnore; file: string | null } {
  for (const f of [`${dockerfile}.dockerignore`, path.join(dir, '.dockerignore')]) {
    try {
      return { ignore: parseDockerIgnore(readFileSync(f, 'utf8')), file: f };
    } catch {}
  }
  return { ignore: parseDockerIgnore(''), file: null };
}

/** Walks the context, counting what is sent; symlinks count as themselves, never followed. */
export function measureContext(
  dir: string,
  ignore: DockerIgnore,
  ignoreFile: string | null,
  collect: (rel: string) => boolean = () => false,
): ContextReport {
  const sent: ContextSize = { files: 0, bytes: 0 };
  const collected: string[] = [];
  const perTop = new Map<string, ContextSize>();
  const walk = (rel: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(path.join(dir, rel));
    } catch {
      return;
    }
    for (const name of entries) {
      const r = rel ? `${rel}/${name}` : name;
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(path.join(dir, r));
      } catch {
        continue;
      }
      const ignored = ignore.ignores(r);
      if (st.isDirectory()) {
        if (!ignored || ignore.mayReinclude(r)) walk(r);
        continue;
      }
      if (ignored) continue;
      if (collect(r)) collected.push(r);
      sent.files++;
      sent.bytes += st.size;
      const top = r.split('/')[0]!;
      const t = perTop.get(top) ?? { files: 0, bytes: 0 };
      t.files++;
      t.bytes += st.size;
      perTop.set(top, t);
    }
  };
  walk('');
  const candidates = UNWANTED.flatMap((name) => {
    const size = perTop.get(name);
    return size && size.files > 0 ? [{ name, size }] : [];
  });
  return { dir, ignoreFile, sent, candidates, collected };
}
