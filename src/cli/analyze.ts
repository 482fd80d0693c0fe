import path from 'node:path';
import type { Command } from 'commander';
import { loadRuns } from '../analyze/history.js';
import { analyzeConfigured } from '../containers/configured.js';
import {
  atLeast,
  type ContainerFinding,
  SEVERITIES,
  type Severity,
  sortFindings,
} from '../containers/findings.js';
import { observedFromDeploys } from '../containers/k8s/deployed.js';
import type { Observed } from '../containers/k8s/observed.js';
import { dockerText, k8sText } from '../containers/render.js';
import { readMetricsFile, runDocker, runK8s } from '../containers/run.js';
import { toSarif } from '../containers/sarif.js';
import { withStore } from '../store/store.js';
import { slipwayVersion } from '../util/package-info.js';
import { parseDuration } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';

interface K8sOpts extends OutputOpts {
  metrics?: string;
  deployed?: string;
  target?: string;
}

/** What the agents measured on an environment's recent deploys; a usage error when there is nothing. */
async function deployedObservation(cmd: Command, environment: string): Promise<Observed> {
  const pipeline = await pipelineFrom(cmd);
  const rows = await withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, (store) =>
    store.appValidations.since(),
  );
  const o = observedFromDeploys(rows, environment);
  if (!o)
    throw new UsageError(
      `--deployed ${environment}: no deploy of it with app measurements in the history`,
      'deploy it with a start: command (the agents measure start-up, memory and CPU after each activation), or pass --metrics FILE',
    );
  return o;
}

interface OutputOpts {
  json?: boolean;
  sarif?: boolean;
  failOn?: string;
}

function failOn(v: string | undefined): Severity | undefined {
  if (v === undefined) return undefined;
  if (!(SEVERITIES as readonly string[]).includes(v))
    throw new UsageError(`--fail-on ${v}: unknown severity`, `one of ${SEVERITIES.join(', ')}`);
  return v as Severity;
}

function finish(
  ctx: CliContext,
  opts: OutputOpts,
  findings: ContainerFinding[],
  json: object,
  text: () => string,
): number {
  const threshold = failOn(opts.failOn);
  if (opts.json && opts.sarif)
    throw new UsageError('--json and --sarif both want standard output', 'pick one');
  if (opts.sarif)
    ctx.stdout.write(`${JSON.stringify(toSarif(sortFindings(findings), slipwayVersion()), null, 2)}\n`);
  else if (opts.json) ctx.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else ctx.stdout.write(text());
  return threshold && findings.some((f) => atLeast(f.severity, threshold)) ? 1 : 0;
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`${name} ${v}: not a positive whole number`, `for example ${name} 200`);
  return n;
}

function secondsOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms === undefined)
    throw new UsageError(`${name} ${v}: not a duration`, `for example ${name} 90s or ${name} 2m`);
  return ms / 1000;
}

export function register(program: Command, ctx: CliContext): void {
  const analyze = program
    .command('analyze')
    .description(
      'containers and Kubernetes: Dockerfile layers against git history, build context, rollout time model, probes, resources, PDB/HPA',
    );
  analyze
    .command('all')
    .description('every Dockerfile and manifest folder analyze: in slipway.yml names')
    .option('--json', 'the analyses as JSON')
    .option('--sarif', 'SARIF 2.1.0 for GitHub code scanning')
    .option('--fail-on <severity>', 'exit 1 on a finding at or above: error, warning or note')
    .action(
      action(ctx, async (opts: OutputOpts, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd);
        if (!pipeline.raw.analyze)
          throw new UsageError(
            `${path.basename(pipeline.file)} has no analyze: section`,
            'name Dockerfiles and manifest folders under analyze: (docker: [Dockerfile], k8s: [deploy/k8s]), or run slipway analyze docker|k8s PATH',
          );
        const runs = await withStore(
          { url: globals(cmd).store, root: pipeline.root, create: false },
          (store) => loadRuns(store, { pipeline: pipeline.name }),
        );
        const a = analyzeConfigured(pipeline, runs)!;
        const findings = sortFindings(a.findings);
        return finish(ctx, opts, findings, a, () =>
          [...a.docker.map(dockerText), ...(a.k8s ? [k8sText(a.k8s)] : [])].join('\n'),
        );
      }),
    );
  analyze
    .command('docker')
    .description(
      'a Dockerfile: layer invalidation from the last commits, build context with .dockerignore, image and runtime rules',
    )
    .argument('[dockerfile]', 'the Dockerfile', 'Dockerfile')
    .option('--context <dir>', 'build context folder (default: the Dockerfile folder)')
    .option('--commits <n>', 'commits of history to replay (default 200)')
    .option(
      '--install-time <duration>',
      'how long the dependency install step takes (90s), for the time saved',
    )
    .option('--json', 'the analysis as JSON')
    .option('--sarif', 'SARIF 2.1.0 for GitHub code scanning')
    .option('--fail-on <severity>', 'exit 1 on a finding at or above: error, warning or note')
    .action(
      action(
        ctx,
        (file: string, opts: OutputOpts & { context?: string; commits?: string; installTime?: string }) => {
          const installSeconds = secondsOption('--install-time', opts.installTime);
          const a = runDocker(
            { file, ...(opts.context ? { context: opts.context } : {}) },
            {
              base: process.cwd(),
              ...(intOption('--commits', opts.commits)
                ? { commits: intOption('--commits', opts.commits)! }
                : {}),
              ...(installSeconds !== undefined ? { installSeconds, installSource: '--install-time' } : {}),
            },
          );
          sortFindings(a.findings);
          return finish(ctx, opts, a.findings, a, () => dockerText(a));
        },
      ),
    );
  analyze
    .command('k8s')
    .description(
      'Kubernetes manifests (multi-document YAML, Helm or Kustomize output): rollout time model and probe, resource, PDB and HPA rules',
    )
    .argument('<paths...>', 'YAML files or folders')
    .option('--metrics <file>', 'observed start-up, CPU and memory per container (JSON)')
    .option(
      '--deployed <environment>',
      "start-up, memory and CPU the agents measured on this environment's deploys (history), for every workload",
    )
    .option('--target <duration>', 'rollout duration to reach (default: half the current)')
    .option('--json', 'the analysis as JSON')
    .option('--sarif', 'SARIF 2.1.0 for GitHub code scanning')
    .option('--fail-on <severity>', 'exit 1 on a finding at or above: error, warning or note')
    .action(
      action(ctx, async (paths: string[], opts: K8sOpts, cmd: Command) => {
        const targetSeconds = secondsOption('--target', opts.target);
        const observed = new Map(opts.metrics ? readMetricsFile(opts.metrics) : []);
        if (opts.deployed !== undefined) observed.set('*', await deployedObservation(cmd, opts.deployed));
        const a = runK8s(
          paths.map((p) => path.resolve(p)),
          {
            base: process.cwd(),
            ...(observed.size ? { observed } : {}),
            ...(targetSeconds !== undefined ? { targetSeconds } : {}),
          },
        );
        sortFindings(a.findings);
        return finish(ctx, opts, a.findings, a, () => k8sText(a));
      }),
    );
}
