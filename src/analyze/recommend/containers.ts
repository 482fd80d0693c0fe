/** Container findings with a time saving, as recommendations beside the pipeline's own (README: Containers and Kubernetes). */
import type { ContainerFinding } from '../../containers/findings.js';
import type { Recommendation } from './types.js';

/** Findings that save seconds per build or per rollout; byte and share savings stay in `slipway analyze`. */
export function containerRecommendations(findings: readonly ContainerFinding[]): Recommendation[] {
  return findings.flatMap((f) => {
    if (f.saving?.unit !== 'seconds' || f.saving.value <= 0) return [];
    const savedMs = Math.round(f.saving.value * 1000);
    return [
      {
        kind: 'container' as const,
        target: `${f.file}:${f.line}`,
        title: `${f.rule} at ${f.file}:${f.line}`,
        savedMsPerRun: savedMs,
        // The step or rollout it shortens, when the finding knows it; else the saving alone.
        baselineMs: f.saving.before !== undefined ? Math.round(f.saving.before * 1000) : savedMs,
        predictedMs: f.saving.after !== undefined ? Math.round(f.saving.after * 1000) : 0,
        evidence: [f.message, f.saving.text, ...(f.evidence ?? [])],
        risk: f.rule.startsWith('K8S-')
          ? 'more pods or less capacity during a rollout (see the settings)'
          : 'none: same image, different layer order',
        change: f.hint,
      },
    ];
  });
}
