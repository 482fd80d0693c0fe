/** environments: section (README: Deploy). Semantic checks (waves, tokens) live in src/deploy/environment.ts. */
import * as z from 'zod';
import { parseWindow, WINDOW_HINT } from './deploy-window.js';
import { duration, size } from './units-schema.js';

const envMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const count = (min: number) => z.number().int().min(min);

/** Where a token comes from; tokens themselves never live in the pipeline file. */
const tokenRef = z.union(
  [z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })],
  {
    error: 'a token is { env: VAR_NAME } or { file: path/to/token }',
  },
);

/** A whole number of hosts or a percentage of the region, like Kubernetes' maxUnavailable. */
const maxUnavailable = z.union([
  count(1),
  z.string().regex(/^\d{1,3}%$/, 'write a number of hosts or a percentage such as "25%"'),
]);

const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+/, 'write an http:// or https:// URL');

const targetSchema = z.strictObject({
  /** Shown in progress and records; default `<region>-<n>`. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]+$/, 'target names use letters, digits and _ . : @ -')
    .optional(),
  /** The agent's base URL. */
  agent: httpUrl,
  token: tokenRef.optional(),
  /** The app's base URL; the health path is appended. */
  app: httpUrl.optional(),
  /** A full health URL, instead of app + health.path. */
  health: httpUrl.optional(),
  /** Extra environment for the app on this host (e.g. PORT). */
  env: envMap.default({}),
});

const regionSchema = z.strictObject({
  /** Share of traffic (any unit, compared between regions): the smallest goes first. */
  traffic: z.number().min(0).default(0),
  maxUnavailable: maxUnavailable.optional(),
  targets: z.array(targetSchema).min(1, 'a region needs at least one target'),
});

const healthSchema = z.strictObject({
  path: z.string().startsWith('/', 'the health path starts with /').default('/health'),
  interval: duration.default(1000),
  /** Per probe. */
  timeout: duration.default(2000),
  /** Consecutive Successful measurements a host needs after it switches. */
  successes: count(1).default(3),
  /** Failed measurements allowed (Argo's failureLimit); one more fails the gate. */
  failures: count(0).default(0),
  /** Inconclusive measurements allowed (Argo's inconclusiveLimit). */
  inconclusive: count(0).default(0),
  /** Consecutive errors (no answer) allowed (Argo's consecutiveErrorLimit). */
  errors: count(0).default(4),
  /** Longest wait for a host to become healthy; then the gate is Inconclusive. */
  deadline: duration.default(60_000),
  /** Status codes that count as Successful; 5xx is Failed; anything else is Inconclusive. */
  successStatus: z.array(count(100)).default([200, 204]),
});

const strategySchema = z.strictObject({
  /** "auto" (smallest-traffic region first, then groups that double) or lists of region names. */
  waves: z.union([z.literal('auto'), z.array(z.array(z.string()).min(1))]).default('auto'),
  maxUnavailable: maxUnavailable.default(1),
  /** How long each wave is watched after its last host switched. */
  bake: duration.default(0),
  /** Health samples per host needed before a wave passes. */
  minSamples: count(1).default(1),
  /** Targets staged at once. */
  stageParallelism: count(1).default(8),
});

/** "Mon-Fri 02:00-05:00 UTC" (deploy/deploy-window.ts), parsed here so a bad one is located. */
const deployWindow = z.string().transform((v, ctx) => {
  const w = parseWindow(v);
  if (!w.ok) {
    ctx.addIssue({
      code: 'custom',
      message: `bad deploy window ${JSON.stringify(v)}: ${w.error}`,
      params: { hint: WINDOW_HINT },
    });
    return z.NEVER;
  }
  return w.value;
});

const environmentSchema = z.strictObject({
  /** The folder to ship, relative to the pipeline file (usually a task's output). */
  artifact: z.string().min(1),
  /** Started by /bin/sh -c in the active release folder; omitted: files only. */
  start: z.string().optional(),
  env: envMap.default({}),
  token: tokenRef.optional(),
  keepReleases: count(1).default(5),
  /** First agent of each region pulls from the origin, its neighbours from it. */
  relay: z.boolean().default(false),
  /** Where the deployer serves chunks; agents must reach `url`. */
  origin: z
    .strictObject({
      listen: z.string().default('127.0.0.1:0'),
      url: httpUrl.optional(),
      /** Egress cap per second, e.g. "50MiB". */
      maxRate: size.optional(),
      /**
       * Compression of bulk transfers (a first deploy): `auto` adapts to the bottleneck, `none`
       * sends chunks raw, a number pins the zstd level (-10 to 19).
       */
      compression: z
        .union([z.enum(['auto', 'none']), z.number().int().min(-10).max(19)], {
          error: 'write auto, none or a zstd level from -10 to 19',
        })
        .optional(),
    })
    .optional(),
  health: healthSchema.optional(),
  /** When `slipway deploy` may run: one window or a list; outside them it waits (or refuses). */
  windows: z
    .preprocess(
      (v) => (typeof v === 'string' ? [v] : v),
      z.array(deployWindow).min(1, 'list at least one window'),
    )
    .optional(),
  strategy: strategySchema.prefault({}),
  regions: z.record(
    z.string().regex(/^[A-Za-z0-9_.-]+$/, 'region names use letters, digits and _ . -'),
    regionSchema,
  ),
});
export type EnvironmentSchema = z.output<typeof environmentSchema>;

export const environmentsSchema = z.record(z.string(), environmentSchema);
