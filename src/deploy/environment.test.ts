import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/diagnostic.js';
import { parsePipeline } from '../config/load.js';
import { resolveEnvironment } from './environment.js';

function load(yml: string) {
  return parsePipeline('slipway.yml', '/project/slipway.yml', yml);
}

function diagnostics(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.diagnostics;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const base = `version: 1
environments:
  prod:
    artifact: dist
    start: node server.js
    token: { env: PROD_TOKEN }
    health: { path: /healthz, interval: 500ms, successes: 2 }
    strategy: { maxUnavailable: "50%", bake: 10s, minSamples: 3 }
    regions:
      eu:
        traffic: 40
        targets:
          - { agent: "http://10.0.0.1:7070", app: "http://10.0.0.1:8080" }
          - { agent: "http://10.0.0.2:7070", app: "http://10.0.0.2:8080" }
      ap:
        traffic: 10
        targets:
          - { name: tokyo, agent: "http://10.0.1.1:7070", health: "http://10.0.1.1:8080/ready" }
`;

describe('environments', () => {
  it('resolves tokens, health URLs, percentages and automatic waves', () => {
    const env = resolveEnvironment(load(base), 'prod', { PROD_TOKEN: 'secret-token-value' });
    expect(env.artifact).toBe('/project/dist');
    expect(env.waves).toEqual([['ap'], ['eu']]);
    expect(env.bakeMs).toBe(10_000);
    expect(env.health?.intervalMs).toBe(500);
    expect(env.health?.failures).toBe(0);
    const eu = env.regions.find((r) => r.name === 'eu')!;
    expect(eu.maxUnavailable).toBe(1);
    expect(eu.targets.map((t) => [t.name, t.token, t.healthUrl])).toEqual([
      ['eu-1', 'secret-token-value', 'http://10.0.0.1:8080/healthz'],
      ['eu-2', 'secret-token-value', 'http://10.0.0.2:8080/healthz'],
    ]);
    expect(env.regions.find((r) => r.name === 'ap')!.targets[0]!.healthUrl).toBe(
      'http://10.0.1.1:8080/ready',
    );
  });

  it('points at the offending line for schema errors (durations, unknown keys)', () => {
    const d = diagnostics(() =>
      load(base.replace('interval: 500ms', 'interval: soon').replace('bake: 10s', 'bak: 10s')),
    );
    const msgs = d.map((x) => `${'line' in x.location ? x.location.line : '?'} ${x.message} ${x.hint ?? ''}`);
    expect(msgs.some((m) => /^7 .*bad duration "soon"/.test(m))).toBe(true);
    expect(msgs.some((m) => /^8 unknown key "bak".*did you mean "bake"/.test(m))).toBe(true);
  });

  it('reports unknown regions in waves, a missing token and unknown environments with hints', () => {
    const p = load(base.replace('strategy: {', 'strategy: { waves: [[eu], [asia]],'));
    const d = diagnostics(() => resolveEnvironment(p, 'prod', {}));
    const text = d
      .map((x) => `${'line' in x.location ? x.location.line : '?'}: ${x.message} (${x.hint})`)
      .join('\n');
    expect(text).toMatch(/8: wave 2 names unknown region "asia"/);
    expect(text).toMatch(/the waves leave out "ap"/);
    expect(text).toMatch(/6: the environment variable PROD_TOKEN .* not set \(export PROD_TOKEN=/);
    const unknown = diagnostics(() => resolveEnvironment(p, 'prd', {}));
    expect(unknown[0]!.hint).toBe('did you mean "prod"?');
  });

  it('takes the compression of bulk transfers: auto by default, none or a zstd level', () => {
    const env = (o: string) =>
      resolveEnvironment(load(base.replace('    start:', `    origin: ${o}\n    start:`)), 'prod', {
        PROD_TOKEN: 'secret-token-value',
      });
    expect(resolveEnvironment(load(base), 'prod', { PROD_TOKEN: 'x' }).origin.compression).toBeUndefined();
    expect(env('{ compression: none }').origin.compression).toBe('none');
    expect(env('{ compression: -5 }').origin.compression).toBe(-5);
    for (const bad of ['fast', '25', '1.5']) {
      const d = diagnostics(() => env(`{ compression: ${bad} }`));
      expect(d.map((x) => x.message).join('\n')).toMatch(
        /origin\.compression: (.*auto, none or a zstd level|must be 19 or less)/,
      );
    }
  });
});
