/**
 * An in-process deploy agent for HTTP-level tests: a temporary folder, the agent in `<root>/agent`,
 * its server on 127.0.0.1 port 0 (the port it reports, so nothing races for one), a client with
 * the token, and origins serving test artifacts, all closed by `close()`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Agent } from '../../src/deploy/agent/agent.js';
import { type AgentLimits, listenAgent } from '../../src/deploy/agent/server.js';
import { AgentClient } from '../../src/deploy/agent-client.js';
import { readArtifact } from '../../src/deploy/artifact.js';
import { releaseIdOf } from '../../src/deploy/manifest.js';
import { type Origin, startOrigin } from '../../src/deploy/origin.js';
import { openFilesUnder } from './open-files.js';

type Chunks = Parameters<typeof startOrigin>[0]['chunks'];

export interface AgentRig {
  root: string;
  agent: Agent;
  url: string;
  client: AgentClient;
  /** An origin serving `chunks`, closed with the rig. */
  serve(chunks: Chunks): Promise<Origin>;
  /** Writes `files` as an artifact folder, reads it and serves its chunks. */
  artifact(
    version: string,
    files: Record<string, string>,
  ): Promise<
    Awaited<ReturnType<typeof artifactOf>> & { release: ReturnType<typeof releaseIdOf>; origin: Origin }
  >;
  /**
   * `artifact`, then stages and activates its release (throwing on any failure): its release,
   * manifest, what staging answered and the release it replaced.
   */
  deploy(
    version: string,
    files: Record<string, string>,
  ): Promise<{
    release: ReturnType<typeof releaseIdOf>;
    manifest: Awaited<ReturnType<typeof artifactOf>>['manifest'];
    staged: StageAnswer;
    previous: ActivateAnswer['previous'];
  }>;
  close(): Promise<void>;
}

type StageAnswer = Extract<Awaited<ReturnType<AgentClient['stage']>>, { ok: true }>['value'];
type ActivateAnswer = Extract<Awaited<ReturnType<AgentClient['activate']>>, { ok: true }>['value'];

async function artifactOf(dir: string, version: string) {
  const art = await readArtifact(dir, version);
  if (!art.ok) throw new Error(art.error);
  return art.value;
}

/** Starts the rig in a fresh temporary folder named after `prefix`. */
export async function startAgentRig(o: {
  prefix: string;
  token: string;
  limits?: AgentLimits;
  warn?: (message: string) => void;
  preparedOpenMs?: number;
}): Promise<AgentRig> {
  const root = await mkdtemp(path.join(os.tmpdir(), o.prefix));
  const agent = await Agent.open({
    dir: path.join(root, 'agent'),
    token: o.token,
    keep: 2,
    ...(o.warn ? { warn: o.warn } : {}),
    ...(o.preparedOpenMs ? { preparedOpenMs: o.preparedOpenMs } : {}),
  });
  const server: Server = await listenAgent(agent, '127.0.0.1', 0, o.limits);
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const origins: Origin[] = [];
  const serve = async (chunks: Chunks) => {
    const origin = await startOrigin({ chunks, token: 'origin-token-0123456789' });
    origins.push(origin);
    return origin;
  };
  const client = new AgentClient(url, o.token);
  const rig: AgentRig = {
    root,
    agent,
    url,
    client,
    serve,
    async artifact(version, files) {
      const dir = path.join(root, `art-${version}`);
      await rm(dir, { recursive: true, force: true });
      for (const [p, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
        await writeFile(path.join(dir, p), text);
      }
      const art = await artifactOf(dir, version);
      return { ...art, release: releaseIdOf(art.manifest), origin: await serve(art.chunks) };
    },
    async deploy(version, files) {
      const b = await rig.artifact(version, files);
      const staged = await client.stage({ release: b.release, manifest: b.manifest, sources: [b.origin] });
      if (!staged.ok) throw new Error(staged.error);
      const active = await client.activate(b.release);
      if (!active.ok) throw new Error(active.error);
      return {
        release: b.release,
        manifest: b.manifest,
        staged: staged.value,
        previous: active.value.previous,
      };
    },
    async close() {
      await agent.shutdown();
      server.closeAllConnections();
      server.close();
      await Promise.all(origins.splice(0).map((x) => x.close()));
      // The agent and origins closed every file they opened under the rig's folder.
      const left = openFilesUnder(root);
      await rm(root, { recursive: true, force: true });
      if (left.length) throw new Error(`files left open after close: ${left.join(', ')}`);
    },
  };
  return rig;
}
