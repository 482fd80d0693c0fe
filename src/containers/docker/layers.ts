/**
 * Layer invalidation from history: for each instruction, the share of recent commits after which
 * a build has to run it again, because a file it (or an instruction before it) copies changed.
 */
import type { DockerIgnore } from './dockerignore.js';
import { parseDockerIgnore } from './dockerignore.js';
import type { DockerfileModel, DockerInstruction } from './model.js';

export interface LayerShare {
  stage: number;
  line: number;
  keyword: string;
  /** Commits (of `commits`) after which this instruction reruns. */
  rebuilt: number;
  commits: number;
}

/** Files that pin dependencies: what an install step really reads. */
export const MANIFESTS =
  /(^|\/)(package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|\.npmrc|\.yarnrc(\.yml)?|requirements[^/]*\.txt|Pipfile(\.lock)?|poetry\.lock|pyproject\.toml|go\.mod|go\.sum|Gemfile(\.lock)?|composer\.(json|lock)|Cargo\.(toml|lock))$/;

/** A RUN that installs dependencies from manifests. */
export const INSTALL =
  /\b(npm\s+(ci|install|i)\b|yarn(?:\s+install\b|(?=\s*(?:$|&&|;|\|))|\s+--)|pnpm\s+(install|i)\b|pip3?\s+install\s+(-r|--requirement)|poetry\s+install|bundle\s+install|go\s+mod\s+download|composer\s+install|cargo\s+fetch)/;

/** Changed files of one commit, context-relative and not ignored. */
export type ChangedFiles = readonly string[];

/** Sources of a COPY/ADD from the context (not --from, not URLs). */
function contextSources(ins: DockerInstruction): string[] | null {
  if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') return null;
  if (ins.flags.has('from')) return null;
  let args = ins.args;
  if (ins.execForm) {
    try {
      args = JSON.parse(ins.text.replace(/^(\s*--\S+\s+)*/, '')) as string[];
    } catch {}
  }
  return args.slice(0, -1).filter((a) => !/^[a-z]+:\/\//i.test(a) && !a.startsWith('<<'));
}

/** True when a COPY source copies the whole context. */
function copiesEverything(src: string): boolean {
  return src === '.' || src === './' || src === '*' || src === './*';
}

function sourceMatcher(sources: string[]): (file: string) => boolean {
  if (sources.some(copiesEverything)) return () => true;
  const m = parseDockerIgnore(sources.join('\n'));
  return (f) => m.ignores(f);
}

/** Per instruction, how many of the commits make it rerun. */
export function layerShares(model: DockerfileModel, commits: readonly ChangedFiles[]): LayerShare[] {
  const matchers = new Map<DockerInstruction, (f: string) => boolean>();
  for (const s of model.stages)
    for (const ins of s.instructions) {
      const src = contextSources(ins);
      if (src) matchers.set(ins, sourceMatcher(src));
    }
  const counts = new Map<DockerInstruction, number>();
  for (const files of commits) {
    const firstRebuilt = firstRebuiltPerStage(model, files, matchers);
    model.stages.forEach((s, si) => {
      s.instructions.forEach((ins, i) => {
        if (i >= firstRebuilt[si]!) counts.set(ins, (counts.get(ins) ?? 0) + 1);
      });
    });
  }
  return model.stages.flatMap((s) =>
    s.instructions.map((ins) => ({
      stage: s.index,
      line: ins.line,
      keyword: ins.keyword,
      rebuilt: counts.get(ins) ?? 0,
      commits: commits.length,
    })),
  );
}

/** For each stage, the index of its first instruction that reruns (Infinity: none). */
function firstRebuiltPerStage(
  model: DockerfileModel,
  files: ChangedFiles,
  matchers: Map<DockerInstruction, (f: string) => boolean>,
): number[] {
  const first: number[] = [];
  for (const s of model.stages) {
    let at = s.baseStage !== null && first[s.baseStage]! < Infinity ? 0 : Infinity;
    for (let i = 0; i < s.instructions.length && at === Infinity; i++) {
      const ins = s.instructions[i]!;
      const from = ins.flags.get('from');
      if (from) {
        const dep = model.stages.findIndex((o, oi) => o.name === from || String(oi) === from);
        if (dep >= 0 && dep < s.index && first[dep]! < Infinity) at = i;
        continue;
      }
      const m = matchers.get(ins);
      if (m && files.some(m)) at = i;
    }
    first.push(at);
  }
  return first;
}

export interface ReorderAdvice {
  stage: number;
  /** The broad COPY that precedes the install. */
  copy: DockerInstruction;
  install: DockerInstruction;
  /** Commits after which the install reruns now, and would with only the manifests copied first. */
  before: number;
  after: number;
  commits: number;
  /** The manifests in the context the install step would need. */
  manifests: string[];
}

/**
 * The classic case: a COPY of (nearly) the whole context before the dependency install. `after`
 * is the share with the manifests copied first and the rest after the install.
 */
export function reorderAdvice(
  model: DockerfileModel,
  commits: readonly ChangedFiles[],
  contextFiles: readonly string[],
  shares: readonly LayerShare[],
): ReorderAdvice[] {
  const out: ReorderAdvice[] = [];
  const manifests = contextFiles.filter((f) => MANIFESTS.test(f) && !f.includes('node_modules/'));
  for (const s of model.stages) {
    const installAt = s.instructions.findIndex((i) => i.keyword === 'RUN' && INSTALL.test(i.text));
    if (installAt < 0) continue;
    const install = s.instructions[installAt]!;
    const copyAt = s.instructions.findIndex((i, k) => {
      if (k >= installAt) return false;
      const src = contextSources(i);
      return (
        !!src &&
        src.length > 0 &&
        src.some((x) => copiesEverything(x) || (!MANIFESTS.test(x) && !/[*?]/.test(x) && !x.includes('.')))
      );
    });
    if (copyAt < 0) continue;
    const copy = s.instructions[copyAt]!;
    const before = shares.find((x) => x.line === install.line)?.rebuilt ?? 0;
    // With the broad COPY moved after the install, the install reruns when something before the
    // broad COPY reruns, or when a manifest it copies changes.
    const copySrc = sourceMatcher(contextSources(copy) ?? []);
    const isManifest = (f: string) => MANIFESTS.test(f) && copySrc(f);
    const stageShare = shares.find((x) => x.line === copy.line && x.stage === s.index);
    const prior = copyAt > 0 ? s.instructions[copyAt - 1] : undefined;
    let after = 0;
    for (const files of commits) {
      const priorRebuilt = prior ? rebuiltIn(model, files, prior) : false;
      if (priorRebuilt || files.some(isManifest)) after++;
    }
    if (stageShare)
      out.push({ stage: s.index, copy, install, before, after, commits: commits.length, manifests });
  }
  return out;
}

function rebuiltIn(model: DockerfileModel, files: ChangedFiles, ins: DockerInstruction): boolean {
  const share = layerShares(model, [files]).find((x) => x.line === ins.line && x.stage === ins.stage);
  return (share?.rebuilt ?? 0) > 0;
}

/** Context-relative changed files of each commit, with .dockerignore applied. */
export function contextChanges(
  commits: readonly { files: string[] }[],
  toContext: (file: string) => string | null,
  ignore: DockerIgnore,
): ChangedFiles[] {
  return commits.map((c) =>
    c.files.flatMap((f) => {
      const r = toContext(f);
      return r !== null && !ignore.ignores(r) ? [r] : [];
    }),
  );
}

export interface CopyOrderAdvice {
  stage: number;
  /** The volatile COPY that comes first, and the stable one after it. */
  early: DockerInstruction;
  late: DockerInstruction;
  /** Commits after which each one's own sources change. */
  earlyOwn: number;
  lateOwn: number;
  /** Commits after which `late` reruns now (everything before it counts). */
  lateNow: number;
  commits: number;
}

/**
 * COPY/ADD instructions in a row (no RUN between them, so their order cannot matter to a
 * command) where a stable one follows a volatile one: moved first, it reruns only when its own
 * sources change. The brief's runtime stage copies node_modules after dist.
 */
export function copyOrderAdvice(
  model: DockerfileModel,
  commits: readonly ChangedFiles[],
  shares: readonly LayerShare[],
): CopyOrderAdvice[] {
  const own = ownInvalidations(model, commits);
  const out: CopyOrderAdvice[] = [];
  for (const s of model.stages) {
    let run: DockerInstruction[] = [];
    const flush = () => {
      for (let j = 1; j < run.length; j++) {
        const late = run[j]!;
        const lateOwn = own.get(late) ?? 0;
        const lateNow = shares.find((x) => x.stage === s.index && x.line === late.line)?.rebuilt ?? 0;
        // The first earlier COPY that makes it rerun much more often than its own sources would.
        const early = run.slice(0, j).find((k) => (own.get(k) ?? 0) - lateOwn >= 0.25 * commits.length);
        if (early && lateNow - lateOwn >= 0.25 * commits.length)
          out.push({
            stage: s.index,
            early,
            late,
            earlyOwn: own.get(early) ?? 0,
            lateOwn,
            lateNow,
            commits: commits.length,
          });
      }
      run = [];
    };
    for (const ins of s.instructions) {
      if (ins.keyword === 'COPY' || ins.keyword === 'ADD') run.push(ins);
      else if (ins.keyword === 'RUN' || ins.keyword === 'FROM' || ins.keyword === 'ONBUILD') flush();
    }
    flush();
  }
  return out;
}

/** Per COPY/ADD, the commits after which its own sources (files, or the stage it copies from) change. */
function ownInvalidations(
  model: DockerfileModel,
  commits: readonly ChangedFiles[],
): Map<DockerInstruction, number> {
  const counts = new Map<DockerInstruction, number>();
  for (const files of commits) {
    const shares = layerShares(model, [files]);
    const stageRebuilt = model.stages.map((s) => shares.some((x) => x.stage === s.index && x.rebuilt > 0));
    for (const s of model.stages)
      for (const ins of s.instructions) {
        const from = ins.flags.get('from');
        let hit = false;
        if (from) {
          const dep = model.stages.findIndex((o, oi) => o.name === from || String(oi) === from);
          hit = dep >= 0 && stageRebuilt[dep]!;
        } else {
          const src = contextSources(ins);
          hit = !!src && files.some(sourceMatcher(src));
        }
        if (hit) counts.set(ins, (counts.get(ins) ?? 0) + 1);
      }
  }
  return counts;
}
