/**
 * What the deployer does with a host while it walks the artifact, once the host's answer to the
 * twin check (or, from an agent before that, its status) says it speaks this protocol and has no
 * release: its stage streamed at once (stage-stream.ts), or, where there is no stream to start
 * (as many hosts stream already as stage at once, or the artifact as listed is not worth
 * streaming: stage-stream.ts streamPays) or its agent has no such endpoint, the
 * artifact's outline sent for it to create the tree ahead (agent/prepared-tree.ts). Whatever goes wrong here only costs the head start: the staging
 * reports real trouble.
 */
import type { AgentClient } from './agent-client.js';
import type { ChunkSourceRef } from './chunk-client.js';
import type { Environment } from './environment.js';
import { DEPLOY_PROTOCOL } from './protocol.js';
import type { relayOf } from './stage.js';
import type { StreamedStages } from './stage-stream.js';
import { feedCodec } from './stream-feed.js';

/**
 * Whether the agent speaks this protocol and has no release, from the twin check's answer or its
 * status, and whether it takes a streamed stage's part lines and a zstd body (its twin check says so).
 */
async function freshHost(
  client: AgentClient,
  checking: ReturnType<AgentClient['twinCheck']> | undefined,
): Promise<{ fresh: boolean; parts: boolean; zstd: boolean }> {
  const said = checking && (await checking);
  let agent:
    | { protocol?: number; releases?: number; streamParts?: boolean; streamZstd?: boolean }
    | undefined = said?.ok ? said.value : undefined;
  if (agent?.releases === undefined) {
    const status = await client.status();
    if (!status.ok) return { fresh: false, parts: false, zstd: false };
    agent = { protocol: status.value.protocol, releases: status.value.releases.length };
  }
  const fresh = agent.protocol === DEPLOY_PROTOCOL && agent.releases === 0;
  return { fresh, parts: fresh && agent.streamParts === true, zstd: fresh && agent.streamZstd === true };
}

/**
 * Whether any host will be streamed a large file's parts (a fresh agent that takes them, within
 * `waitMs` of asking): its walk then chunks on this thread alone (artifact.ts inParts).
 */
export async function partsExpected(
  checking: Iterable<ReturnType<AgentClient['twinCheck']>>,
  streams: StreamedStages,
  waitMs: number,
): Promise<boolean> {
  if (!streams.pays(true)) return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  const any = Promise.all(
    [...checking].map(async (c) => {
      const said = await c;
      return (
        said.ok &&
        said.value.releases === 0 &&
        said.value.protocol === DEPLOY_PROTOCOL &&
        said.value.streamParts === true
      );
    }),
  ).then((all) => all.includes(true));
  try {
    return await Promise.race([any, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Streams the stage of host `name` if it is fresh, else sends it the outline (see above). */
export async function firstContact(o: {
  env: Environment;
  name: string;
  client: AgentClient;
  /** The artifact's outline, once its listing is done (first contacts begin before). */
  outline: () => Promise<string[]>;
  checking: ReturnType<AgentClient['twinCheck']> | undefined;
  streams: StreamedStages | undefined;
  origin: () => Promise<ChunkSourceRef>;
  relays: ReturnType<typeof relayOf>;
}): Promise<void> {
  const host = await freshHost(o.client, o.checking);
  if (!host.fresh) return;
  if (!o.streams?.claim(o.env.stageParallelism, host.parts)) {
    await o.client.prepare(await o.outline());
    return;
  }
  // As stage.ts sources them: a relay's neighbour pulls through the relay first.
  const region = o.env.regions.find((r) => r.targets.some((t) => t.name === o.name));
  const neighbour = region !== undefined && region.targets[0]?.name !== o.name;
  const relay = neighbour ? await o.relays(region) : undefined;
  const origin = await o.origin();
  o.streams.start(o.name, o.client, relay ? [relay, origin] : [origin], host.parts, feedCodec(host.zstd));
  const started = o.streams.started.get(o.name);
  // An agent before the streamed stage (404) may still create the tree ahead. Not waited for:
  // the stream ends only once the walk has.
  void started?.outcome
    .then(async (out) => (out.kind === 'unsupported' ? o.client.prepare(await o.outline()) : undefined))
    .catch(() => {});
  // The first contact lasts until the stream's connection is made: the walk hurries meanwhile.
  await started?.connected;
}
