/** Text output of `slipway analyze`: findings grouped by file, then the measured tables. */
import type { DockerAnalysis } from './docker/analyze.js';
import type { ContainerFinding } from './findings.js';
import { bytes, pct, seconds } from './format.js';
import type { K8sAnalysis } from './k8s/analyze.js';

const MARK: Record<ContainerFinding['severity'], string> = { error: '✖', warning: '▲', note: '·' };

function findingsText(findings: readonly ContainerFinding[]): string {
  if (findings.length === 0) return 'no findings\n';
  return findings
    .map((f) => {
      const lines = [
        `${f.file}:${f.line}:${f.col}  ${MARK[f.severity]} ${f.severity}  ${f.rule}`,
        `  ${f.message}`,
        `  fix: ${f.hint}`,
      ];
      if (f.saving) lines.push(`  saves: ${f.saving.text}`);
      return lines.join('\n');
    })
    .join('\n\n')
    .concat('\n');
}

export function dockerText(a: DockerAnalysis): string {
  const out: string[] = [];
  out.push(
    `${a.file}: ${a.stages} stage${a.stages === 1 ? '' : 's'}; build context ${bytes(a.context.sent.bytes)} in ${a.context.sent.files} files${a.context.ignoreFile ? ' (.dockerignore applied)' : ' (no .dockerignore)'}`,
  );
  if (a.commits > 0) {
    out.push(`layers rebuilt by the last ${a.commits} commits:`);
    for (const l of a.layers) {
      if (l.keyword === 'FROM') continue;
      out.push(
        `  ${String(l.line).padStart(4)}  ${pct(l.rebuilt / l.commits).padStart(4)}  ${l.keyword} ${l.text.slice(0, 70)}`,
      );
    }
  } else out.push('layers: no git history for the context (layer invalidation not measured)');
  out.push('');
  out.push(findingsText(a.findings));
  return out.join('\n');
}

export function k8sText(a: K8sAnalysis): string {
  const out: string[] = [];
  for (const e of a.errors) out.push(`${e.file}:${e.line}:${e.col}  YAML error: ${e.message}`);
  for (const r of a.rollouts) {
    const c = r.current;
    out.push(
      `${r.file}:${r.line}  rollout of ${r.deployment}: ${c.replicas} replicas, maxSurge ${c.surge}, maxUnavailable ${c.unavailable} → ${c.rounds} rounds × ${seconds(c.roundSeconds)} = ${seconds(c.seconds)}`,
    );
    for (const o of r.options)
      out.push(
        `    maxSurge ${o.surge}, maxUnavailable ${o.unavailable}: ${seconds(o.seconds)}; +${o.extraPods} pods (${((o.extraPods * r.podCpuMillis) / 1000).toFixed(2)} CPU, ${bytes(o.extraPods * r.podMemoryBytes)}) during the rollout, ≥ ${o.minAvailable}/${o.replicas} available`,
      );
  }
  if (a.rollouts.length) out.push('');
  out.push(findingsText(a.findings));
  return out.join('\n');
}
