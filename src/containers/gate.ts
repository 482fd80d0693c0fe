/** `slipway check`'s container part: configured analyses, failing at or above a severity. */
import type { Pipeline } from '../config/types.js';
import { analyzeConfigured } from './configured.js';
import { atLeast, type ContainerFinding, type Severity, sortFindings } from './findings.js';

export interface ContainerGate {
  failOn: Severity;
  findings: ContainerFinding[];
  /** Findings at or above failOn: these fail the check. */
  failing: ContainerFinding[];
}

/** Null when slipway.yml has no analyze: section. */
export function containerGate(pipeline: Pipeline, failOn?: Severity): ContainerGate | null {
  const a = analyzeConfigured(pipeline);
  if (!a) return null;
  const threshold = failOn ?? pipeline.raw.analyze?.failOn ?? 'error';
  const findings = sortFindings(a.findings);
  return { failOn: threshold, findings, failing: findings.filter((f) => atLeast(f.severity, threshold)) };
}

export function gateText(g: ContainerGate): string {
  const head = `containers: ${g.findings.length} finding${g.findings.length === 1 ? '' : 's'}, ${g.failing.length} at or above ${g.failOn}`;
  const lines = g.failing.map(
    (f) => `  ✖ ${f.file}:${f.line}:${f.col} ${f.rule}: ${f.message}\n    fix: ${f.hint}`,
  );
  return `${[head, ...lines].join('\n')}\n`;
}

/** GitHub Actions workflow commands, one per failing finding. */
export function gateAnnotations(g: ContainerGate): string[] {
  const esc = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  return g.failing.map(
    (f) =>
      `::${f.severity === 'note' ? 'notice' : f.severity} file=${f.file},line=${f.line},col=${f.col},title=${f.rule}::${esc(`${f.message}. Fix: ${f.hint}`)}`,
  );
}
