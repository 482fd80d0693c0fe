/** Located configuration errors, printed as file:line:col with the offending line and a squiggle. */

export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Characters to underline (at least 1). */
  length?: number;
}

export interface Diagnostic {
  location: SourceLocation | { file: string };
  message: string;
  hint?: string;
}

/** Thrown only at the edges (config loading); the CLI turns it into exit code 2. */
export class ConfigError extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
    /** The file text, for the squiggle under the offending span. */
    readonly source?: string,
  ) {
    super(diagnostics.map((d) => d.message).join('; '));
  }
}

/** Renders diagnostics for a terminal, in the order of their lines; `source` is the file text for the squiggle. */
export function formatDiagnostics(diagnostics: Diagnostic[], source?: string): string {
  const lines = source?.split('\n');
  const at = (d: Diagnostic) => ('line' in d.location ? [d.location.line, d.location.col] : [0, 0]);
  // A stable sort: diagnostics on the same spot keep the order they were found in.
  return [...diagnostics]
    .sort((a, b) => at(a)[0]! - at(b)[0]! || at(a)[1]! - at(b)[1]!)
    .map((d) => {
      const loc = d.location;
      const where = 'line' in loc ? `${loc.file}:${loc.line}:${loc.col}` : loc.file;
      let out = `${where}: error: ${d.message}`;
      if ('line' in loc && lines?.[loc.line - 1] !== undefined) {
        const text = lines[loc.line - 1]!;
        out += `\n  ${String(loc.line).padStart(4)} | ${text}\n       | ${' '.repeat(Math.max(0, loc.col - 1))}${'~'.repeat(Math.max(1, loc.length ?? 1))}`;
      }
      if (d.hint) out += `\n  hint: ${d.hint}`;
      return out;
    })
    .join('\n\n');
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest candidate within a small edit distance, if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
