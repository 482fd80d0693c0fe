import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../config/diagnostic.js';
import { Ledger } from '../state/ledger.js';
import { environmentFrom } from './environment-from.js';

const YML = [
  'version: 1',
  'tasks:',
  '  build: { run: "true" }',
  'environments:',
  '  prod:',
  '    artifact: dist',
  '    token: { env: PROD_TOKEN }',
  '    windows: ["Mon-Fri 02:00-05:00 UTC", "Sat 22:00-02:00 +01:00"]',
  '    health: { path: /health, interval: 150ms }',
  '    regions:',
  '      eu:',
  '        traffic: 1',
  '        targets:',
  '          - name: a',
  '            agent: http://127.0.0.1:1',
  '            app: http://127.0.0.1:2',
  '',
].join('\n');

let root: string;
afterEach(() => {
  vi.useRealTimers();
  rmSync(root, { recursive: true, force: true });
});

/**
 * A pipeline file, and a clock moved on past its racy window (state/racy.ts), so that loading it
 * leaves a snapshot.
 */
function pipelineFile(): { file: string; cmd: Command } {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-envfrom-'));
  const file = path.join(root, 'slipway.yml');
  writeFileSync(file, YML);
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 10_000 });
  const cmd = new Command().option('-f, --file <path>').exitOverride();
  cmd.parse(['-f', file], { from: 'user' });
  return { file, cmd };
}

const ENV = { PROD_TOKEN: 'token-0123456789abcdef' };

describe('environmentFrom', () => {
  it("resolves from the pipeline's snapshot the environment the file itself gives (windows included)", async () => {
    const { cmd } = pipelineFile();
    const loaded = await environmentFrom(cmd, 'prod', ENV);
    expect(Ledger.load(root).get('pipeline')).toBeDefined();
    const snapshotted = await environmentFrom(cmd, 'prod', ENV);
    // From the snapshot: it locates nothing in the file.
    expect(snapshotted.pipeline.locate(['environments', 'prod']).line).toBe(1);
    expect(loaded.pipeline.locate(['environments', 'prod']).line).toBeGreaterThan(1);
    expect(snapshotted.environment).toEqual(loaded.environment);
    expect(snapshotted.environment.windows?.map((w) => w.days)).toEqual([[0, 1, 2, 3, 4], [5]]);
  });

  it('locates what does not resolve in the file, snapshot or not', async () => {
    const { cmd } = pipelineFile();
    await environmentFrom(cmd, 'prod', ENV);
    const e = await environmentFrom(cmd, 'prod', {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    const line = (x: unknown) => {
      const at = (x as ConfigError).diagnostics[0]!.location;
      return 'line' in at ? at.line : undefined;
    };
    expect(line(e)).toBe(7);
    const unknown = await environmentFrom(cmd, 'staging', ENV).catch((x: unknown) => x);
    expect(line(unknown)).toBeGreaterThan(1);
  });
});
