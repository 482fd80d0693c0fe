/**
 * What every command's help and usage errors add to commander's: one example per command (the
 * global options are listed by `showGlobalOptions`), and for a usage mistake one line and a
 * pointer to `--help` instead of the whole help text.
 */
import type { Command } from 'commander';

/** One example per command path; a command without one simply shows none. */
const EXAMPLES: Record<string, string> = {
  slipway: 'slipway run build --filter=...[origin/main] --summary run.json',
  run: 'slipway run build --affected --output-logs=new-only --markdown "$GITHUB_STEP_SUMMARY"',
  plan: 'slipway plan build --filter web... --what-if cpus=1,2,4,8',
  graph: 'slipway graph build --filter web --format mermaid > graph.mmd',
  history: 'slipway history -n 10',
  why: 'slipway why web#build',
  cache: 'slipway cache prune --older-than 7d',
  'cache stats': 'slipway cache stats --json',
  'cache prune': 'slipway cache prune --max-size 2GiB --older-than 7d',
  report: 'slipway report --since 7d --markdown "$GITHUB_STEP_SUMMARY"',
  regressions: 'slipway regressions --all',
  'regressions ack': 'slipway regressions ack 12 --note "new linter, accepted"',
  check: 'slipway check --markdown "$GITHUB_STEP_SUMMARY"',
  deploy: 'slipway deploy production --version v1.4.2',
  rollback: 'slipway rollback production',
  deployments: 'slipway deployments production -n 5',
  agent:
    'SLIPWAY_AGENT_TOKEN=$(openssl rand -hex 32) slipway agent --dir /srv/app --token-env SLIPWAY_AGENT_TOKEN',
  validate: 'slipway validate -f ci/slipway.yml',
  init: 'slipway init --from-turbo',
};

/** Adds the example and the one-line usage-error hint to `cmd` and every command below it. */
export function finishHelp(cmd: Command, parents: readonly string[] = []): void {
  const names = [...parents, cmd.name()];
  const key = names.length === 1 ? names[0]! : names.slice(1).join(' ');
  const example = EXAMPLES[key];
  if (example) cmd.addHelpText('after', `\nExample:\n  $ ${example}\n`);
  cmd.showHelpAfterError(`  hint: see "${names.join(' ')} --help" for the options`);
  for (const sub of cmd.commands) finishHelp(sub, names);
}
