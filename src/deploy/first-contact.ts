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

/** Whether the agent speaks this protocol and has no release, from the twin check's answer or its status. */
async function freshHost(
  client: AgentClient,
  checking: ReturnType<AgentClient['twinCheck']> | undefined,
): Promise<boolean> {
  const said = checking && (await checking);
  let agent: { protocol?: number; releases?: number } | undefined = said?.ok ? said.value : undefined;
  if (agent?.releases === undefined) {
    const status = await client.status();
    if (!status.ok) return false;
    agent = { protocol: status.value.protocol, releases: status.value.releases.length };
  }
  return agent.protocol === DEPLOY_PROTOCOL && agent.releases === 0;
}

/** Streams the stage of host `name` if it is fresh, else sends it the outline (see above). */
export async function firstContact(o: {
  env: Environment;
  name: string;
  client: AgentClient;
  outline: () => string[];
  checking: ReturnType<AgentClient['twinCheck']> | undefined;
  streams: StreamedStages | undefined;
  origin: () => Promise<ChunkSourceRef>;
  relays: ReturnType<typeof relayOf>;
}): Promise<void> {
  if (!(await freshHost(o.client, o.checking))) return;
  if (!o.streams?.claim(o.env.stageParallelism)) {
    await o.client.prepare(o.outline());
    return;
  }
  // As stage.ts sources them: a relay's neighbour pulls through the relay first.
  const region = o.env.regions.find((r) => r.targets.some((t) => t.name === o.name));
  const neighbour = region !== undefined && region.targets[0]?.name !== o.name;
  const relay = neighbour ? await o.relays(region) : undefined;
  const origin = await o.origin();
  o.streams.start(o.name, o.client, relay ? [relay, origin] : [origin]);
  // An agent before the streamed stage (404) may still create the tree ahead. Not waited for:
  // the stream ends only once the walk has.
  void o.streams.started
    .get(o.name)
    ?.outcome.then((out) => (out.kind === 'unsupported' ? o.client.prepare(o.outline()) : undefined));
}
