/** Markdown run report, fit for $GITHUB_STEP_SUMMARY. */
import { formatBytes, formatMs } from '../util/units.js';
import { lowerBoundText, type RunSummary } from './summary.js';

const ICON: Record<string, string> = { success: '✅', failed: '❌', skipped: '⏭️', cancelled: '⛔' };

export function runMarkdown(s: RunSummary): string {
  const lines = [
    `## Slipway run ${ICON[s.status] ?? ''} ${s.status}`,
    '',
    `**${s.pipeline}** · ${formatMs(s.durationMs)} wall · ${lowerBoundText(s)} · predicted ${formatMs(s.predictedMakespanMs)} · concurrency ${s.concurrency}`,
    '',
    `Critical path: ${s.criticalPath.map((c) => `\`${c}\``).join(' → ') || '—'}`,
    '',
  ];
  if (s.cache.hits)
    lines.push(
      `Cache: ${s.cache.hits} hits (${s.cache.hitsLocal} local, ${s.cache.hitsRemote} remote), saved ${formatMs(s.cache.savedMs)}`,
      '',
    );
  lines.push(
    '| Task | Status | Cache | Duration | Predicted | CPU s | Peak RSS |',
    '|---|---|---|---:|---:|---:|---:|',
  );
  for (const t of s.tasks) {
    lines.push(
      `| \`${t.id}\` | ${ICON[t.status] ?? ''} ${t.status}${t.reason && t.status !== 'success' ? ` (${t.reason})` : ''} | ${t.cache} | ${formatMs(t.durationMs)} | ${formatMs(t.predictedMs)} | ${t.cpuSeconds.toFixed(2)} | ${t.peakRssBytes ? formatBytes(t.peakRssBytes) : '—'} |`,
    );
  }
  if (s.warnings.length) lines.push('', '### Warnings', '', ...s.warnings.map((w) => `- ${w}`));
  return `${lines.join('\n')}\n`;
}
