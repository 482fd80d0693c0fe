/** Every rule Slipway's container analyzers have: id, default severity, one-line description. */
import type { Severity } from './findings.js';

export interface RuleInfo {
  id: string;
  severity: Severity;
  description: string;
  /** Measured or modelled from this team's history/manifests, not only a pattern. */
  measured?: boolean;
}

const list: RuleInfo[] = [
  // Dockerfile: layers and context
  {
    id: 'DL-layer-invalidation',
    severity: 'warning',
    description: 'An install step is rebuilt by most commits because a broad COPY precedes it',
    measured: true,
  },
  {
    id: 'DL-layer-order',
    severity: 'warning',
    description: 'A stable COPY follows a volatile one: moved first, it stays cached',
    measured: true,
  },
  {
    id: 'DL-context-unignored',
    severity: 'warning',
    description: 'Build context sends node_modules, .git or build outputs that .dockerignore could drop',
    measured: true,
  },
  { id: 'DL-no-dockerignore', severity: 'note', description: 'No .dockerignore next to the build context' },
  // Dockerfile: image content
  {
    id: 'DL-no-multi-stage',
    severity: 'warning',
    description: 'Single stage image that installs or builds: build tools and dev dependencies ship',
  },
  { id: 'DL-dev-deps-final', severity: 'warning', description: 'Final stage installs dev dependencies' },
  {
    id: 'DL-build-tools-final',
    severity: 'warning',
    description: 'Final stage installs compilers or build tools',
  },
  {
    id: 'DL-npm-only-production',
    severity: 'warning',
    description: '--only=production / --production is deprecated in npm 7+; use --omit=dev',
  },
  {
    id: 'DL-cache-cleanup',
    severity: 'note',
    description: 'Package manager cache left in a layer of the final image',
  },
  {
    id: 'DL-apt-update-alone',
    severity: 'warning',
    description: 'apt-get update in a RUN without install: a stale cached index later',
  },
  {
    id: 'DL-no-cache-mount',
    severity: 'note',
    description: 'Package install without a BuildKit cache mount',
  },
  // Dockerfile: runtime
  { id: 'DL-root-user', severity: 'warning', description: 'Final stage runs as root' },
  {
    id: 'DL-unpinned-base',
    severity: 'warning',
    description: 'Base image is latest/untagged or has no digest',
  },
  {
    id: 'DL-shell-form-cmd',
    severity: 'warning',
    description: 'Shell-form CMD/ENTRYPOINT: /bin/sh is PID 1 and swallows SIGTERM',
  },
  {
    id: 'DL-npm-start-pid1',
    severity: 'warning',
    description: 'npm/yarn start as PID 1 does not forward SIGTERM',
  },
  {
    id: 'DL-no-healthcheck',
    severity: 'note',
    description: 'No HEALTHCHECK (needed by Docker/Compose/Swarm; Kubernetes uses probes)',
  },
  // Kubernetes: rollout and probes
  {
    id: 'K8S-rollout-time',
    severity: 'note',
    description: 'Modelled rolling-update duration and the settings that reach a target',
    measured: true,
  },
  { id: 'K8S-no-readiness', severity: 'warning', description: 'Container without a readiness probe' },
  {
    id: 'K8S-liveness-before-startup',
    severity: 'error',
    description: 'Liveness probe can kill the container before it has started (measured start-up)',
    measured: true,
  },
  {
    id: 'K8S-liveness-equals-readiness',
    severity: 'warning',
    description: 'Liveness and readiness probe the same endpoint',
  },
  {
    id: 'K8S-no-startup-probe',
    severity: 'warning',
    description: 'Slow starter protected only by a long liveness initialDelaySeconds',
  },
  {
    id: 'K8S-probe-slows-rollout',
    severity: 'note',
    description: 'Readiness delay/period adds wait to every rollout wave',
    measured: true,
  },
  // Kubernetes: resources
  {
    id: 'K8S-missing-requests',
    severity: 'warning',
    description: 'Container without CPU or memory requests',
  },
  { id: 'K8S-missing-memory-limit', severity: 'warning', description: 'Container without a memory limit' },
  {
    id: 'K8S-cpu-limit-throttle',
    severity: 'note',
    description: 'CPU limit throttles (CFS quota) even when the node is idle',
    measured: true,
  },
  {
    id: 'K8S-request-vs-usage',
    severity: 'warning',
    description: 'Requests far from observed use (VPA-style recommendation)',
    measured: true,
  },
  {
    id: 'K8S-memory-limit-under-peak',
    severity: 'error',
    description: 'Memory limit below the observed peak: OOM kills',
    measured: true,
  },
  { id: 'K8S-init-no-resources', severity: 'warning', description: 'Init container without resources' },
  {
    id: 'K8S-latest-pull-always',
    severity: 'warning',
    description: 'latest image pulled on every pod start (imagePullPolicy Always)',
  },
  // Kubernetes: availability and scaling
  {
    id: 'K8S-pdb-blocks-drain',
    severity: 'error',
    description: 'PodDisruptionBudget allows no disruption: drains and evictions hang',
  },
  {
    id: 'K8S-unavailable-vs-pdb',
    severity: 'warning',
    description: 'Rollout maxUnavailable exceeds what the PDB allows',
  },
  {
    id: 'K8S-hpa-min-vs-pdb',
    severity: 'warning',
    description: 'HPA minReplicas leaves the PDB no disruption at minimum scale',
  },
  {
    id: 'K8S-hpa-pods-metric-total',
    severity: 'warning',
    description: 'Pods-type HPA metric averages a total (queue length); use External AverageValue',
  },
  {
    id: 'K8S-hpa-no-behavior',
    severity: 'note',
    description: 'HPA without behavior: default scale-down may flap',
  },
  {
    id: 'K8S-replicas-with-hpa',
    severity: 'note',
    description: 'Deployment sets replicas while an HPA owns the count',
  },
];

export const RULES: ReadonlyMap<string, RuleInfo> = new Map(list.map((r) => [r.id, r]));
