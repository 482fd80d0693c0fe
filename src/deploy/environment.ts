/**
 * Resolves one `environments.<name>` section into what the orchestrator needs: tokens read,
 * URLs joined, waves planned and checked. Problems become located diagnostics.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeployWindow } from '../config/deploy-window.js';
import { ConfigError, type Diagnostic, didYouMean } from '../config/diagnostic.js';
import type { EnvironmentSchema } from '../config/schema-deploy.js';
import type { Pipeline } from '../config/types.js';
import type { CompressionSetting } from './adaptive-level.js';
import { planWaves } from './waves.js';

export interface HealthConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  successes: number;
  failures: number;
  inconclusive: number;
  errors: number;
  deadlineMs: number;
  successStatus: number[];
}

export interface Target {
  name: string;
  region: string;
  agentUrl: string;
  token: string;
  healthUrl?: string;
  env: Record<string, string>;
}

export interface Region {
  name: string;
  traffic: number;
  maxUnavailable: number;
  targets: Target[];
}

export interface Environment {
  name: string;
  artifact: string;
  start?: string;
  env: Record<string, string>;
  keepReleases: number;
  relay: boolean;
  origin: {
    host: string;
    port: number;
    url?: string;
    maxRate?: number;
    /** Compression of bulk transfers (adaptive-level.ts); absent: auto. */
    compression?: CompressionSetting;
  };
  health?: HealthConfig;
  /** Region names per wave, in order. */
  waves: string[][];
  bakeMs: number;
  minSamples: number;
  stageParallelism: number;
  regions: Region[];
  /** When deployments may run (deploy-window.ts); none means any time. */
  windows?: DeployWindow[];
  /** Measure the app after each activation, and its budgets (`budgets.deploy`). */
  validation?: AppValidationConfig;
}

export interface AppValidationConfig {
  settleMs: number;
  startupMs?: number;
  rssBytes?: number;
  cpuCores?: number;
}

/**
 * One target in all: its staging is activated in the same exchange (deploy.ts), whose request
 * also takes and gives back the agent's lock (first-change-hold.ts).
 */
export function isLoneHost(env: Pick<Environment, 'regions'>): boolean {
  return env.regions.reduce((n, r) => n + r.targets.length, 0) === 1;
}

/** Reads `environments.<name>`; throws ConfigError with located diagnostics. */
export function resolveEnvironment(
  p: Pipeline,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Environment {
  const all = p.raw.environments ?? {};
  const raw = all[name];
  const at = (...sub: (string | number)[]) => p.locate(['environments', name, ...sub]);
  if (!raw) {
    const known = Object.keys(all);
    const guess = didYouMean(name, known);
    throw new ConfigError(
      [
        {
          location: p.locate(known.length ? ['environments'] : [], 'key'),
          message: `no environment "${name}" in ${path.basename(p.file)}`,
          hint: guess
            ? `did you mean "${guess}"?`
            : known.length
              ? `known environments: ${known.join(', ')}`
              : 'add an "environments:" section (see the README, section Deploy)',
        },
      ],
      p.source,
    );
  }
  const diags: Diagnostic[] = [];
  const regions: Region[] = [];
  const names = new Set<string>();
  for (const [regionName, r] of Object.entries(raw.regions)) {
    const targets: Target[] = r.targets.map((t, i) => {
      const tName = t.name ?? `${regionName}-${i + 1}`;
      if (names.has(tName)) {
        diags.push({
          location: at('regions', regionName, 'targets', i),
          message: `duplicate target name "${tName}"`,
          hint: 'give each target a unique name',
        });
      }
      names.add(tName);
      const ref = t.token ?? raw.token;
      const where = t.token
        ? at('regions', regionName, 'targets', i, 'token')
        : raw.token
          ? at('token')
          : at('regions', regionName, 'targets', i);
      const token = readToken(ref, p.root, env, (message, hint) =>
        diags.push({ location: where, message, hint }),
      );
      let healthUrl: string | undefined = t.health;
      if (!healthUrl && t.app && raw.health) healthUrl = new URL(raw.health.path, t.app).toString();
      if (raw.health && !healthUrl) {
        diags.push({
          location: at('regions', regionName, 'targets', i),
          message: `target "${tName}" has no app URL to check health on`,
          hint: 'add "app: http://host:port" (the health path is appended) or "health: <full URL>"',
        });
      }
      return {
        name: tName,
        region: regionName,
        agentUrl: t.agent,
        token: token ?? '',
        healthUrl,
        env: { ...raw.env, ...t.env },
      };
    });
    const mu = r.maxUnavailable ?? raw.strategy.maxUnavailable;
    const maxUnavailable =
      typeof mu === 'number' ? mu : Math.max(1, Math.floor((Number(mu.slice(0, -1)) / 100) * targets.length));
    regions.push({ name: regionName, traffic: r.traffic, maxUnavailable, targets });
  }
  if (regions.length === 0) {
    diags.push({
      location: at('regions'),
      message: 'no regions to deploy to',
      hint: 'add at least one region with targets',
    });
  }

  let waves: string[][];
  const declared = raw.strategy.waves;
  if (declared === 'auto') waves = planWaves(regions);
  else {
    waves = declared;
    const seen = new Set<string>();
    for (const [w, wave] of declared.entries()) {
      for (const [j, region] of wave.entries()) {
        if (!raw.regions[region]) {
          const guess = didYouMean(region, Object.keys(raw.regions));
          diags.push({
            location: at('strategy', 'waves', w, j),
            message: `wave ${w + 1} names unknown region "${region}"`,
            hint: guess ? `did you mean "${guess}"?` : `regions: ${Object.keys(raw.regions).join(', ')}`,
          });
        } else if (seen.has(region)) {
          diags.push({
            location: at('strategy', 'waves', w, j),
            message: `region "${region}" is in two waves`,
            hint: 'list each region once',
          });
        }
        seen.add(region);
      }
    }
    const left = regions.filter((r) => !seen.has(r.name)).map((r) => r.name);
    if (left.length) {
      diags.push({
        location: at('strategy', 'waves'),
        message: `the waves leave out ${left.map((r) => `"${r}"`).join(', ')}`,
        hint: 'add the missing regions to a wave, or use "waves: auto"',
      });
    }
  }

  const origin = parseListen(raw.origin?.listen ?? '127.0.0.1:0');
  if (!origin)
    diags.push({
      location: at('origin', 'listen'),
      message: 'bad origin.listen',
      hint: 'write host:port, e.g. 127.0.0.1:0',
    });
  if (diags.length) throw new ConfigError(onceEach(diags), p.source);
  return {
    name,
    artifact: path.resolve(p.root, raw.artifact),
    start: raw.start,
    env: raw.env,
    keepReleases: raw.keepReleases,
    relay: raw.relay,
    origin: {
      ...origin!,
      url: raw.origin?.url,
      maxRate: raw.origin?.maxRate,
      compression: raw.origin?.compression,
    },
    health: raw.health ? healthOf(raw.health) : undefined,
    waves,
    bakeMs: raw.strategy.bake,
    minSamples: raw.strategy.minSamples,
    stageParallelism: raw.strategy.stageParallelism,
    regions,
    windows: raw.windows ?? [],
    validation: validationOf(p.raw.budgets?.deploy),
  };
}

function validationOf(
  b: { startup?: number; rss?: number; cpu?: number; settle?: number } | undefined,
): AppValidationConfig {
  return {
    settleMs: b?.settle ?? 1000,
    ...(b?.startup !== undefined ? { startupMs: b.startup } : {}),
    ...(b?.rss !== undefined ? { rssBytes: b.rss } : {}),
    ...(b?.cpu !== undefined ? { cpuCores: b.cpu } : {}),
  };
}

/**
 * Each message once: an unset token variable or an unreadable token file shared by every target
 * is one problem, reported at its first place, not once per target.
 */
function onceEach(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => !seen.has(d.message) && !!seen.add(d.message));
}

function healthOf(h: NonNullable<EnvironmentSchema['health']>): HealthConfig {
  return {
    path: h.path,
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    successes: h.successes,
    failures: h.failures,
    inconclusive: h.inconclusive,
    errors: h.errors,
    deadlineMs: h.deadline,
    successStatus: h.successStatus,
  };
}

function readToken(
  ref: EnvironmentSchema['token'],
  root: string,
  env: NodeJS.ProcessEnv,
  report: (message: string, hint: string) => void,
): string | undefined {
  if (!ref) {
    report(
      'no token for this target',
      'add "token: { env: VAR }" or "token: { file: path }" to the target or the environment',
    );
    return undefined;
  }
  if ('env' in ref) {
    const v = env[ref.env]?.trim();
    if (!v)
      report(
        `the environment variable ${ref.env} holding the agent token is not set`,
        `export ${ref.env}=<the agent's token>`,
      );
    return v;
  }
  const file = path.resolve(root, ref.file);
  try {
    const v = readFileSync(file, 'utf8').trim();
    if (!v) report(`token file ${ref.file} is empty`, 'write the agent token into it');
    return v;
  } catch (e) {
    report(
      `cannot read token file ${ref.file} (${(e as NodeJS.ErrnoException).code})`,
      'check the path, relative to the pipeline file',
    );
    return undefined;
  }
}

function parseListen(s: string): { host: string; port: number } | undefined {
  const m = /^(.+):(\d+)$/.exec(s);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}
