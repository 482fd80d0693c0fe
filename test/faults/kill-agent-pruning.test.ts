/**
 * An agent killed with SIGKILL while pruning after an activation (failpoint `agent:pruned`: once
 * the first old release is removed). The activation was answered before the pruning began, so the
 * deployment that switched the host knows it switched; started again, the agent runs the new
 * release, whole and byte-identical, and keeps no half release that looks whole. Agents are real
 * processes of the built CLI.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/deploy/agent-client.js';
import { readArtifact } from '../../src/deploy/artifact.js';
import { releaseIdOf } from '../../src/deploy/manifest.js';
import { type Origin, startOrigin } from '../../src/deploy/origin.js';
import { agentStarter } from './agent-process.js';

const TOKEN = 'kill-agent-token-0123456789';

let root: string;
const origins: Origin[] = [];
const procs: ChildProcess[] = [];

const startAgent = agentStarter(() => path.join(root, 'token'), procs);

/** An artifact of a few files whose content names its version; staged on `client`. */
async function stage(client: AgentClient, version: string) {
  const art = path.join(root, 'art', version);
  await mkdir(path.join(art, 'lib'), { recursive: true });
  await writeFile(path.join(art, 'index.html'), `<p>${version}</p>\n`);
  await writeFile(path.join(art, 'lib', 'app.js'), `console.log(${JSON.stringify(version)});\n`.repeat(500));
  const a = await readArtifact(art, version);
  if (!a.ok) throw new Error(a.error);
  const origin = await startOrigin({ chunks: a.value.chunks, token: 'origin-token-0123456789' });
  origins.push(origin);
  const release = releaseIdOf(a.value.manifest);
  const r = await client.stage({ release, manifest: a.value.manifest, sources: [origin] });
  if (!r.ok) throw new Error(r.error);
  return { art, release };
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-kill-prune-'));
  await writeFile(path.join(root, 'token'), TOKEN);
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(origins.map((o) => o.close()));
  await rm(root, { recursive: true, force: true });
});

describe('agent killed while pruning', { timeout: 120_000 }, () => {
  it('has answered the activation, and comes back on the new release with no half release', async () => {
    const dir = path.join(root, 'agent');
    const killed = await startAgent(dir, 'agent:pruned');
    const client = new AgentClient(killed.url, TOKEN);
    const v1 = await stage(client, 'v1');
    expect((await client.activate(v1.release, { keep: 1 })).ok).toBe(true);
    const v2 = await stage(client, 'v2');
    expect((await client.activate(v2.release, { keep: 1 })).ok).toBe(true);
    const v3 = await stage(client, 'v3');
    const exited = once(killed.proc, 'exit');
    // keep 1 (and the previous release): switching to v3 prunes v1, and the agent dies there.
    const switched = await client.activate(v3.release, { keep: 1 });
    expect(switched.ok && switched.value).toMatchObject({ previous: v2.release, current: v3.release });
    await exited;
    expect(killed.proc.signalCode).toBe('SIGKILL');

    const again = await startAgent(dir);
    const status = await new AgentClient(again.url, TOKEN).status();
    if (!status.ok) throw new Error(status.error);
    expect(status.value.current).toBe(v3.release);
    expect(status.value.releases.map((r) => r.id).sort()).toEqual([v2.release, v3.release].sort());
    // Nothing of v1 is left that looks like a release: no folder, no manifest under its name.
    for (const sub of ['releases', 'manifests'])
      expect((await readdir(path.join(dir, sub))).filter((n) => n.startsWith(v1.release))).toEqual([]);
    for (const f of ['index.html', 'lib/app.js'])
      expect(await readFile(path.join(dir, 'current', f), 'utf8')).toBe(
        await readFile(path.join(v3.art, f), 'utf8'),
      );
    again.proc.kill('SIGTERM');
    await once(again.proc, 'exit');
  });
});
