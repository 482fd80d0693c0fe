/** One finding of `slipway analyze docker|k8s`: a rule, where it is, what it costs, how to fix it. */

/** SARIF's levels, most severe first. */
export type Severity = 'error' | 'warning' | 'note';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'note'];

/** What a fix saves, when it can be measured or modelled. */
export interface Saving {
  /** `seconds`: per build or per rollout; `bytes`: per build context or image; `share`: of builds. */
  unit: 'seconds' | 'bytes' | 'share';
  value: number;
  /** The same in words, with its basis ("npm ci reruns in 94% of builds → 3%"). */
  text: string;
  /** For time savings: the step or rollout's expected seconds now and after the fix. */
  before?: number;
  after?: number;
}

export interface ContainerFinding {
  rule: string;
  severity: Severity;
  file: string;
  /** 1-based. */
  line: number;
  col: number;
  message: string;
  hint: string;
  saving?: Saving;
  /** Facts from history or the manifests the finding rests on. */
  evidence?: string[];
}

/** True when `s` is at least as severe as `threshold`. */
export function atLeast(s: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(s) <= SEVERITIES.indexOf(threshold);
}

/** Findings in file order, then line. */
export function sortFindings(fs: ContainerFinding[]): ContainerFinding[] {
  return fs.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}
