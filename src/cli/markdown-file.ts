/**
 * `--markdown FILE` means the same on every command (run, report, check): the Markdown is
 * appended to FILE, as GitHub expects of $GITHUB_STEP_SUMMARY (several steps add to one
 * summary); `-` writes it to standard output.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { CliContext } from './context.js';

export const MARKDOWN_HELP = 'append a Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY; - for stdout)';

export function writeMarkdown(ctx: CliContext, file: string, markdown: string): void {
  if (file === '-') ctx.stdout.write(markdown);
  else appendFileSync(path.resolve(file), markdown);
}
