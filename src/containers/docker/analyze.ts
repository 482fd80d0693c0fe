/** `slipway analyze docker`: a Dockerfile, its build context and its layers against the team's git history. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ContainerFinding } from '../findings.js';
import { bytes, pct } from '../format.js';
import { type ContextReport, loadDockerIgnore, measureContext } from './context.js';
import { readHistory, relativeToContext } from './git-history.js';
import {
  contextChanges,
  copyOrderAdvice,
  INSTALL,
  type LayerShare,
  layerShares,
  MANIFESTS,
  type ReorderAdvice,
  reorderAdvice,
} from './layers.js';
import { parseDockerfile } from './model.js';
import { imageRules } from './rules-image.js';
import { runtimeRules } from './rules-runtime.js';

export interface DockerAnalysisOptions {
  dockerfile: string;
  /** Build context; default: the Dockerfile's folder. */
  context?: string;
  /** Commits of history to read; default 200. */
  commits?: number;
  /** Seconds the dependency install takes, when history or a build log knows it. */
  installSeconds?: number;
  /** Where `installSeconds` came from, said in the finding. */
  installSource?: string;
  /** Path shown in findings (relative to the repository or working folder). */
  displayFile?: string;
}

export interface DockerAnalysis {
  file: string;
  stages: number;
  context: ContextReport;
  /** Commits read from history (0 when the context is not in a git repository). */
  commits: number;
  layers: (LayerShare & { text: string })[];
  reorder: ReorderAdvice[];
  findings: ContainerFinding[];
}

/** Reads and analyses one Dockerfile. Throws ENOENT for a missing file (the CLI turns it into a usage error). */
export function analyzeDockerfile(o: DockerAnalysisOptions): DockerAnalysis {
  const text = readFileSync(o.dockerfile, 'utf8');
  const file = o.displayFile ?? o.dockerfile;
  const model = parseDockerfile(file, text);
  const contextDir = path.resolve(o.context ?? path.dirname(o.dockerfile));
  const { ignore, file: ignoreFile } = loadDockerIgnore(contextDir, o.dockerfile);
  const context = measureContext(
    contextDir,
    ignore,
    ignoreFile,
    (r) => MANIFESTS.test(r) && !r.includes('node_modules/'),
  );
  const findings: ContainerFinding[] = [...imageRules(model), ...runtimeRules(model)];

  const firstLine = model.stages[0]?.line ?? 1;
  if (!ignoreFile)
    findings.push({
      rule: 'DL-no-dockerignore',
      severity: 'note',
      file,
      line: firstLine,
      col: 1,
      message: `no .dockerignore in ${path.relative(process.cwd(), contextDir) || '.'}: the whole folder (${bytes(context.sent.bytes)}, ${context.sent.files} files) is sent on every build`,
      hint: 'add a .dockerignore with node_modules, .git and build outputs',
    });
  for (const c of context.candidates)
    findings.push({
      rule: 'DL-context-unignored',
      severity: c.size.bytes >= 10 << 20 ? 'warning' : 'note',
      file,
      line: firstLine,
      col: 1,
      message: `the build context sends ${c.name}/ (${bytes(c.size.bytes)}, ${c.size.files} files; ${pct(c.size.bytes / Math.max(1, context.sent.bytes))} of the context)`,
      hint: `add \`${c.name}\` to ${ignoreFile ? path.basename(ignoreFile) : '.dockerignore'}`,
      saving: { unit: 'bytes', value: c.size.bytes, text: `${bytes(c.size.bytes)} less context per build` },
    });

  const history = readHistory(contextDir, o.commits ?? 200);
  let layers: DockerAnalysis['layers'] = [];
  let reorder: ReorderAdvice[] = [];
  if (history && history.commits.length > 0) {
    const changes = contextChanges(
      history.commits,
      (f) => relativeToContext(history.root, contextDir, f),
      ignore,
    );
    const shares = layerShares(model, changes);
    const byLine = new Map(
      model.stages.flatMap((s) => s.instructions.map((i) => [`${s.index}:${i.line}`, i.text] as const)),
    );
    layers = shares.map((s) => ({ ...s, text: byLine.get(`${s.stage}:${s.line}`) ?? '' }));
    reorder = reorderAdvice(model, changes, context.collected, shares);
    for (const r of reorder) {
      const before = r.before / r.commits;
      const after = r.after / r.commits;
      if (before - after < 0.05) continue;
      const step = (INSTALL.exec(r.install.text)?.[0] ?? 'the install').trim();
      const manifests = r.manifests.filter((m) => !m.includes('/')).slice(0, 3);
      const copyFirst = manifests.length ? manifests.join(' ') : 'package*.json';
      const seconds =
        o.installSeconds !== undefined ? ((r.before - r.after) / r.commits) * o.installSeconds : undefined;
      findings.push({
        rule: 'DL-layer-invalidation',
        severity: before >= 0.5 ? 'warning' : 'note',
        file,
        line: r.copy.line,
        col: r.copy.col,
        message: `\`${step}\` (line ${r.install.line}) reruns after ${pct(before)} of the last ${r.commits} commits because \`COPY ${r.copy.text.trim()}\` comes first; copying ${copyFirst} first: ${pct(after)}`,
        hint: `COPY ${copyFirst} ./ then RUN ${step} …, and only then COPY ${r.copy.text.trim()}`,
        saving:
          seconds !== undefined
            ? {
                unit: 'seconds',
                value: seconds,
                before: before * o.installSeconds!,
                after: after * o.installSeconds!,
                text: `${seconds.toFixed(1)} s per build on average (${step} ${o.installSeconds!.toFixed(0)} s${o.installSource ? `, ${o.installSource}` : ''}, ${pct(before)} → ${pct(after)} of builds)`,
              }
            : {
                unit: 'share',
                value: before - after,
                text: `${pct(before)} → ${pct(after)} of builds rerun ${step}`,
              },
        evidence: [
          `${r.before} of ${r.commits} commits change a file the COPY on line ${r.copy.line} copies; ${r.after} change ${copyFirst}`,
        ],
      });
    }
    for (const c of copyOrderAdvice(model, changes, shares)) {
      const now = c.lateNow / c.commits;
      const after = c.lateOwn / c.commits;
      findings.push({
        rule: 'DL-layer-order',
        severity: now - after >= 0.5 ? 'warning' : 'note',
        file,
        line: c.late.line,
        col: c.late.col,
        message: `\`${copyText(c.late)}\` is copied again after ${pct(now)} of the last ${c.commits} commits because it follows \`${copyText(c.early)}\` (line ${c.early.line}, whose sources change in ${pct(c.earlyOwn / c.commits)}); its own sources change in ${pct(after)}`,
        hint: `move line ${c.late.line} above line ${c.early.line}: the stable layer stays cached (and is not pushed or pulled again)`,
        saving: {
          unit: 'share',
          value: now - after,
          text: `${pct(now)} → ${pct(after)} of builds recopy it`,
        },
        evidence: [
          `${c.lateNow} of ${c.commits} commits rebuild line ${c.late.line}; ${c.lateOwn} change what it copies`,
        ],
      });
    }
  }
  return {
    file,
    stages: model.stages.length,
    context,
    commits: history?.commits.length ?? 0,
    layers,
    reorder,
    findings,
  };
}

function copyText(ins: { keyword: string; flags: Map<string, string | null>; text: string }): string {
  const from = ins.flags.get('from');
  return `${ins.keyword}${from ? ` --from=${from}` : ''} ${ins.text.replace(/^(\s*--\S+\s+)*/, '').trim()}`;
}
