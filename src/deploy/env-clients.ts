/** The agent clients of an environment's hosts, for a deployment that holds no lock of its own. */
import { AgentClient } from './agent-client.js';
import type { Environment } from './environment.js';

/** A client for each target's agent, by target name. */
export function clientsOf(env: Environment): Map<string, AgentClient> {
  return new Map(
    env.regions.flatMap((r) => r.targets.map((t) => [t.name, new AgentClient(t.agentUrl, t.token)])),
  );
}
