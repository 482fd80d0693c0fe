import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseDockerfile } from './model.js';
import { imageRules } from './rules-image.js';
import { runtimeRules } from './rules-runtime.js';

const FIXTURES = new URL('../../../test/fixtures/containers/', import.meta.url);

function findings(name: string): string[] {
  const text = readFileSync(new URL(`${name}/Dockerfile`, FIXTURES), 'utf8');
  const model = parseDockerfile('Dockerfile', text);
  return [...imageRules(model), ...runtimeRules(model)].map((f) => `${f.line} ${f.rule}`).sort();
}

/** Every finding of each fixture, with its line: nothing missing, nothing extra. */
describe('Dockerfile rules on the corpus, line by line', () => {
  test("the brief's own multi-stage Dockerfile", () => {
    expect(findings('brief')).toEqual(
      [
        '2 DL-unpinned-base', // FROM node:18-alpine AS dependencies: no digest
        '5 DL-npm-only-production', // npm ci --only=production
        '5 DL-no-cache-mount',
        '8 DL-unpinned-base',
        '11 DL-no-cache-mount',
        '14 DL-npm-only-production', // npm prune --production, on the continuation line
        '16 DL-no-healthcheck',
        '16 DL-unpinned-base',
        '25 DL-npm-start-pid1', // CMD ["npm", "start"]
      ].sort(),
    );
  });
  test('a naive single-stage Node image', () => {
    expect(findings('node-naive')).toEqual(
      [
        '2 DL-no-healthcheck',
        '2 DL-no-multi-stage',
        '2 DL-root-user',
        '2 DL-unpinned-base',
        '5 DL-apt-update-alone',
        '6 DL-build-tools-final',
        '6 DL-cache-cleanup',
        '6 DL-no-cache-mount',
        '9 DL-dev-deps-final',
        '9 DL-no-cache-mount',
        '13 DL-npm-start-pid1',
        '13 DL-shell-form-cmd',
      ].sort(),
    );
  });
  test('a Python image with build tools and a shell-form ENTRYPOINT', () => {
    expect(findings('python-apt')).toEqual(
      [
        '1 DL-no-healthcheck',
        '1 DL-no-multi-stage',
        '1 DL-unpinned-base',
        '6 DL-cache-cleanup', // apt-get install without rm -rf /var/lib/apt/lists
        '6 DL-no-cache-mount',
        '7 DL-build-tools-final', // build-essential, on the continuation line
        '9 DL-cache-cleanup', // pip without --no-cache-dir
        '9 DL-no-cache-mount',
        '11 DL-root-user',
        '12 DL-shell-form-cmd',
      ].sort(),
    );
  });
  test('a yarn image whose runtime stage builds on the dependency stage', () => {
    expect(findings('yarn-monorepo')).toEqual(
      [
        '2 DL-unpinned-base',
        '6 DL-dev-deps-final', // the deps stage is shipped: FROM deps AS runtime
        '6 DL-no-cache-mount',
        '8 DL-no-healthcheck',
        '9 DL-cache-cleanup',
        '9 DL-no-cache-mount',
        '10 DL-no-cache-mount',
        '10 DL-npm-only-production',
        '11 DL-root-user',
        '12 DL-npm-start-pid1',
      ].sort(),
    );
  });
  test('a well-made image has no findings', () => {
    expect(findings('good')).toEqual([]);
  });
  test('npm cache written into a shipped layer with --cache, cleaned elsewhere', () => {
    const model = parseDockerfile(
      'D',
      'FROM node:20@sha256:abc\nRUN npm ci --omit=dev --cache .npm && \\\n    npm cache clean --force\nUSER node\nHEALTHCHECK CMD true\nCMD ["node","s.js"]\n',
    );
    const f = imageRules(model).filter((x) => x.rule === 'DL-cache-cleanup');
    expect(f.map((x) => [x.line, x.col])).toEqual([[2, 23]]);
    expect(f[0]!.message).toContain('not this one');
  });
});
