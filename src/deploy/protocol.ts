/**
 * The deploy protocol's version, spoken between deployer and agent. 2 added manifest deltas and
 * chunk deltas against a chunk the agent has; 3 chunk requests for Brotli quality 1 (`br-fast`),
 * which an agent of 2 serving as a relay would refuse; 4 the `codecs` a chunk request offers
 * (zstd frames and zstd chunk deltas, wire.ts), a field an agent of 3 serving as a relay would
 * refuse; 5 block checksums of chunk deltas whose strong half is FNV-1a, not SHA-1
 * (wire-delta.ts), which an origin of 4 would never match; 6 block checksums of 4 bytes, not 6
 * (wire-delta.ts), which an origin of 5 would misread. An agent reports its version in
 * /v1/status and
 * refuses a stage request of a newer one; a deployer refuses an agent of another version, both
 * with a message saying which side to upgrade.
 *
 * Routes added without a new version are optional, a deployer going on as before on an older
 * agent's 404: /v1/twin-check, /v1/prepare, and /v1/deploy (a redeploy to a lone host in one
 * exchange, agent/deploy-exchange.ts). That last one comes without a status to check the agent's
 * version on: the agent refuses any protocol but its own instead, and the deployer then asks for
 * the status as before, which says which side to upgrade.
 */
export const DEPLOY_PROTOCOL = 6;

/** The message for a deployer and an agent that do not speak the same protocol. */
export function protocolMismatch(agentUrl: string, agentSpeaks: number | undefined): string {
  const theirs = agentSpeaks ?? 1;
  return `agent ${agentUrl} speaks deploy protocol ${theirs}, this deployer speaks ${DEPLOY_PROTOCOL}: run the same Slipway version on both (upgrade the ${theirs < DEPLOY_PROTOCOL ? 'agent' : 'deployer'})`;
}

/** The start of a 409's message when a manifest delta names a release the agent does not keep. */
export const NO_BASE = 'no base release';

/**
 * The start of a 409's message when a POST /v1/deploy without sources names a release the agent
 * cannot make from what it has (agent/deploy-exchange.ts).
 */
export const NEEDS_SOURCES = 'needs sources';
