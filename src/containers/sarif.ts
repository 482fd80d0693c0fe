/** SARIF 2.1.0, as GitHub code scanning accepts it (`github/codeql-action/upload-sarif`). */
import { createHash } from 'node:crypto';
import type { ContainerFinding } from './findings.js';
import { RULES } from './rules.js';

/** One SARIF log with one run; `uri`s are the findings' files, `/`-separated and relative to the repository root. */
export function toSarif(findings: readonly ContainerFinding[], version: string): object {
  const ids = [...new Set(findings.map((f) => f.rule))].sort();
  const rules = ids.map((id) => {
    const r = RULES.get(id);
    return {
      id,
      name: id.replace(/[^A-Za-z0-9]/g, ''),
      shortDescription: { text: r?.description ?? id },
      fullDescription: { text: r?.description ?? id },
      defaultConfiguration: { level: r?.severity ?? 'warning' },
      help: { text: r?.description ?? id },
      properties: {
        tags: [id.startsWith('DL-') ? 'dockerfile' : 'kubernetes', ...(r?.measured ? ['measured'] : [])],
      },
    };
  });
  const results = findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: ids.indexOf(f.rule),
    level: f.severity,
    message: { text: `${f.message}. Fix: ${f.hint}${f.saving ? `. Saves ${f.saving.text}` : ''}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: {
            uri: f.file.split('\\').join('/').replace(/^\.\//, ''),
            uriBaseId: '%SRCROOT%',
          },
          region: { startLine: Math.max(1, f.line), startColumn: Math.max(1, f.col) },
        },
      },
    ],
    // Stable across runs so code scanning tracks one alert per rule and place, not per wording.
    partialFingerprints: {
      primaryLocationLineHash: createHash('sha256')
        .update(`${f.rule}\0${f.file}\0${f.line}`)
        .digest('hex')
        .slice(0, 32),
    },
  }));
  return {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'slipway', semanticVersion: version, rules } },
        results,
      },
    ],
  };
}
