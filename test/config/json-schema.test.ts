/**
 * The JSON Schema of slipway.yml (what editors validate with) against a real JSON Schema
 * validator (Ajv, draft 2020-12): every pipeline example in the README and examples/ passes,
 * every bad-config fixture fails both the schema and `slipway validate`, the build ships the
 * same schema, and the `$schema` key editors use is accepted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipelineJsonSchema } from '../../src/config/json-schema.js';
import { STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BAD = path.join(ROOT, 'test/fixtures/bad-config');

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
const check = ajv.compile(pipelineJsonSchema());
const errorsOf = (data: unknown): string =>
  check(data) ? '' : ajv.errorsText(check.errors, { separator: '\n' });

/**
 * Every ```yaml block of the README, with the heading it sits under: the README fences pipeline
 * files as ```yaml and any other YAML (Prometheus, Kubernetes, workflows) as ```yml.
 */
function readmeExamples(): [string, string][] {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const out: [string, string][] = [];
  let heading = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
    if (line.trim() === '```yaml') {
      const body: string[] = [];
      while (++i < lines.length && lines[i]!.trim() !== '```') body.push(lines[i]!);
      out.push([`README "${heading}" line ${i - body.length}`, body.join('\n')]);
    }
  }
  return out;
}

function exampleFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /(^|\/)slipway\.ya?ml$/.test(f) && !f.includes('node_modules'))
    .map((f) => path.join(dir, f));
}

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

describe('the JSON Schema of slipway.yml', () => {
  it('is what the build ships in dist/slipway.schema.json', () => {
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'dist/slipway.schema.json'), 'utf8'));
    expect(shipped).toEqual(pipelineJsonSchema());
  });

  const readme = readmeExamples();
  it('finds the README examples', () => {
    expect(readme.length).toBeGreaterThanOrEqual(3);
  });
  it.each(readme)('accepts %s', (_where, text) => {
    expect(errorsOf(parse(text))).toBe('');
  });

  it.each(exampleFiles(path.join(ROOT, 'examples')).map((f) => [path.relative(ROOT, f), f]))(
    'accepts %s',
    (_rel, file) => {
      expect(errorsOf(parse(readFileSync(file, 'utf8')))).toBe('');
    },
  );

  const bad = readdirSync(BAD).filter((f) => f.endsWith('.yml'));
  it.each(bad)('rejects the bad-config fixture %s, as slipway validate does', async (name) => {
    const text = readFileSync(path.join(BAD, name), 'utf8');
    expect(errorsOf(parse(text)), 'the schema accepted it').not.toBe('');
    const ws = workspace(text);
    made.push(ws);
    const r = await ws.run(['validate']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('a $schema key (as editors write it) is accepted by the schema and by slipway validate', async () => {
    const text =
      '$schema: ./node_modules/slipway/dist/slipway.schema.json\nversion: 1\ntasks:\n  a: { run: echo a }\n';
    expect(errorsOf(parse(text))).toBe('');
    const ws = workspace(text);
    made.push(ws);
    const r = await ws.run(['validate']);
    expect(r.code, r.stderr).toBe(0);
  });
});
