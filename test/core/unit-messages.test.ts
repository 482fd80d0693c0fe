/**
 * Messages and help, in process: the CLI's `main` with injected streams (no child process), and
 * the config loader's diagnostics. Each mistake is exit code 2, one located or one-line message
 * with a hint, and no stack trace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ConfigError, formatDiagnostics } from '../../src/config/diagnostic.js';
import { parsePipeline } from '../../src/config/load.js';
import { unsetSecretWarnings } from '../../src/config/unset-secrets.js';
import { resolveEnvironment } from '../../src/deploy/environment.js';
import { STACK_FRAME } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  process.exitCode = undefined;
});

function folder(yaml = 'version: 1\ntasks:\n  a: { run: echo a }\n'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-messages-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'slipway.yml'), yaml);
  return dir;
}

/** Runs the CLI in this process; `-f` points at `dir`'s pipeline file. */
async function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  process.exitCode = undefined;
  await main(['node', 'slipway', '-f', path.join(dir, 'slipway.yml'), ...args], {
    stdout: {
      write: (s) => {
        stdout += s;
      },
    },
    stderr: {
      write: (s) => {
        stderr += s;
      },
    },
    env: { ...env, SLIPWAY_STORE: undefined },
  });
  const code = process.exitCode;
  process.exitCode = undefined;
  expect(stderr).not.toMatch(STACK_FRAME);
  expect(stderr).not.toMatch(/internal error/);
  return { code, stdout, stderr };
}

/** The diagnostics a pipeline text gets, formatted as the CLI prints them. */
function diagnose(yaml: string): string {
  try {
    parsePipeline('slipway.yml', path.join(os.tmpdir(), 'nowhere', 'slipway.yml'), yaml);
  } catch (e) {
    if (e instanceof ConfigError) return formatDiagnostics(e.diagnostics, e.source);
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('validation messages are sentences with a hint', () => {
  const text = diagnose(
    [
      'version: 2',
      'tasks:',
      '  "bad key!":',
      '    run: echo',
      '  b:',
      '    run: echo',
      '    timeout: soon',
      '    retries: -1',
      '    outputLogs: ful',
      '',
    ].join('\n'),
  );

  it('no zod wording is left', () => {
    expect(text).not.toMatch(/Too small|Invalid input|Invalid key in record|Invalid option/);
  });

  it('each says what the value must be and what it is, with a hint', () => {
    expect(text).toContain('slipway.yml:1:10: error: version: must be 1, got 2');
    expect(text).toMatch(
      /slipway\.yml:8:14: error: tasks\.b\.retries: must be 0 or more, got -1\n.*\n.*\n {2}hint: write a number of at least 0/,
    );
    expect(text).toContain(
      'slipway.yml:9:17: error: tasks.b.outputLogs: must be one of "full", "new-only", "errors-only", "hash-only", "none", got "ful"',
    );
    expect(text).toContain('hint: did you mean "full"?');
  });

  it('a bad record key points at the key and says why', () => {
    expect(text).toMatch(
      /slipway\.yml:3:3: error: tasks\.bad key!: "bad key!" is not a valid name: task ids use letters/,
    );
  });

  it('several errors print in line order', () => {
    const lines = [...text.matchAll(/^slipway\.yml:(\d+):\d+: error/gm)].map((m) => Number(m[1]));
    expect(lines).toEqual([1, 3, 7, 8, 9]);
  });
});

describe('command line mistakes', () => {
  it('an unknown option is one line and a pointer to --help, with a guess', async () => {
    const r = await cli(folder(), ['run', '--forc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: unknown option '--forc'\n  hint: did you mean --force?\n  hint: see "slipway run --help" for the options\n`,
    );
    expect(r.stdout).toBe('');
  });

  it('subcommand help lists the global options and one example', async () => {
    const r = await cli(folder(), ['cache', 'prune', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Global Options:\n {2}-f, --file <path>/);
    expect(r.stdout).toContain('--store <url>');
    expect(r.stdout).toMatch(/Example:\n {2}\$ slipway cache prune /);
  });

  it('deployments UNKNOWN is exit 2 like deploy UNKNOWN', async () => {
    const dir = folder();
    const r = await cli(dir, ['deployments', 'UNKNOWN']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: no environment "UNKNOWN" in the pipeline file and no deployment of it recorded\n {2}hint: /,
    );
  });

  it('agent --token-env NAME names the unset variable', async () => {
    const dir = folder();
    const r = await cli(dir, [
      'agent',
      '--dir',
      path.join(dir, 'agent'),
      '--token-env',
      'SLIPWAY_TEST_UNSET_TOKEN',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      'error: the environment variable SLIPWAY_TEST_UNSET_TOKEN (named by --token-env) is not set or empty',
    );
  });

  it('cache prune --older-than 5 is five seconds; a bad value is exit 2', async () => {
    const dir = folder();
    expect((await cli(dir, ['cache', 'prune', '--older-than', '5'])).code).toBe(0);
    const bad = await cli(dir, ['cache', 'prune', '--older-than', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: bad --older-than "soon"\n {2}hint: .*number of seconds/);
  });

  it('--markdown means a file on report too (appended; - is stdout)', async () => {
    const dir = folder();
    const file = path.join(dir, 'report.md');
    writeFileSync(file, '# before\n');
    const r = await cli(dir, ['report', '--markdown', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^# before\n[\s\S]*## Slipway report/);
    const out = await cli(dir, ['report', '--markdown', '-']);
    expect(out.stdout).toContain('## Slipway report');
  });

  it('a bad --output-logs mode is exit 2 with the modes', async () => {
    const r = await cli(folder(), ['run', '--output-logs', 'loud']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: bad --output-logs "loud"\n  hint: use one of: full, new-only, errors-only, hash-only, none\n',
    );
  });
});

describe('warnings and repeated problems', () => {
  it('an unset secrets: entry is one warning per name, naming its tasks', () => {
    const p = parsePipeline(
      'slipway.yml',
      path.join(os.tmpdir(), 'slipway.yml'),
      'version: 1\ntasks:\n  a: { run: x, secrets: [NPM_TOKEN, SET] }\n  b: { run: x, secrets: [NPM_TOKEN] }\n',
    );
    expect(unsetSecretWarnings(p.tasks.values(), { SET: 'x' })).toEqual([
      'secret NPM_TOKEN is not set in the environment; a, b will run without it (export NPM_TOKEN=… to pass it)',
    ]);
  });

  it('an unset token variable shared by every target is reported once', () => {
    const yaml = [
      'version: 1',
      'environments:',
      '  prod:',
      '    artifact: dist',
      '    token: { env: SLIPWAY_TEST_UNSET_DEPLOY_TOKEN }',
      '    regions:',
      '      eu:',
      '        targets:',
      '          - { agent: "http://127.0.0.1:1" }',
      '          - { agent: "http://127.0.0.1:2" }',
      '          - { agent: "http://127.0.0.1:3" }',
      '',
    ].join('\n');
    const p = parsePipeline('slipway.yml', path.join(os.tmpdir(), 'slipway.yml'), yaml);
    let text = '';
    try {
      resolveEnvironment(p, 'prod', {});
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      text = formatDiagnostics(e.diagnostics, e.source);
    }
    expect(text.match(/SLIPWAY_TEST_UNSET_DEPLOY_TOKEN holding the agent token is not set/g)).toHaveLength(1);
  });
});
