/**
 * `slipway init --ci github`: a GitHub Actions workflow that restores Slipway's cache and
 * history from the Actions cache, runs the pipeline with a JSON summary and the Markdown summary
 * on the job page, and gates the job on budgets and regressions with `slipway check`.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${{ }} is GitHub Actions syntax, written as it is.
import type { PackageManager } from './plan.js';

const INSTALL: Record<PackageManager, string[]> = {
  npm: ['      - run: npm ci'],
  pnpm: ['      - run: pnpm install --frozen-lockfile'],
  yarn: ['      - run: corepack enable', '      - run: yarn install --immutable'],
};

/**
 * The workflow file's text; `file` is the pipeline file and `stateDir` its folder (where
 * `.slipway/` lives), both relative to the repository root.
 */
export function githubWorkflow(o: {
  packageManager: PackageManager;
  file: string;
  stateDir: string;
}): string {
  const f = o.file === 'slipway.yml' ? '' : ` -f ${o.file}`;
  const state = o.stateDir ? `${o.stateDir}/.slipway` : '.slipway';
  const setup = [
    ...(o.packageManager === 'pnpm' ? ['      - uses: pnpm/action-setup@v4'] : []),
    '      - uses: actions/setup-node@v4',
    '        with:',
    '          node-version: 20',
    ...(o.packageManager === 'yarn' ? [] : [`          cache: ${o.packageManager}`]),
  ];
  return [
    '# Written by `slipway init --ci github`.',
    'name: slipway',
    'on:',
    '  push:',
    '    branches: [main]',
    '  pull_request:',
    'jobs:',
    '  pipeline:',
    '    runs-on: ubuntu-latest',
    "    # A shared remote cache (any Turborepo-compatible server); turbo's TURBO_API, TURBO_TOKEN",
    '    # and TURBO_TEAM work as well.',
    '    # env:',
    '    #   SLIPWAY_REMOTE_CACHE_URL: ${{ vars.SLIPWAY_REMOTE_CACHE_URL }}',
    '    #   SLIPWAY_REMOTE_CACHE_TEAM: my-team',
    '    #   SLIPWAY_REMOTE_CACHE_TOKEN: ${{ secrets.SLIPWAY_REMOTE_CACHE_TOKEN }}',
    '    steps:',
    '      - uses: actions/checkout@v4',
    '        with:',
    '          fetch-depth: 0 # history, for `slipway why` and git-range filters',
    ...setup,
    ...INSTALL[o.packageManager],
    '      # The local cache and the run history (durations for scheduling, the baseline for',
    '      # `slipway check`), from the last run on this branch or the default branch.',
    '      - name: Restore the Slipway cache',
    '        uses: actions/cache@v4',
    '        with:',
    '          path: |',
    `            ${state}/cache`,
    `            ${state}/history.db*`,
    '          key: slipway-${{ runner.os }}-${{ github.ref_name }}-${{ github.sha }}',
    '          restore-keys: |',
    '            slipway-${{ runner.os }}-${{ github.ref_name }}-',
    '            slipway-${{ runner.os }}-',
    '      - name: Run the pipeline',
    `        run: npx slipway run${f} --summary slipway-summary.json --markdown "$GITHUB_STEP_SUMMARY"`,
    '      - name: Check budgets and regressions',
    `        run: npx slipway check${f}`,
    '      - name: Keep the run summary',
    '        if: always()',
    '        uses: actions/upload-artifact@v4',
    '        with:',
    '          name: slipway-summary',
    '          path: slipway-summary.json',
    '',
  ].join('\n');
}
