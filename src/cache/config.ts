/**
 * Cache settings from `cache:` in slipway.yml and SLIPWAY_REMOTE_CACHE_* variables (which win).
 * turbo's own variables (TURBO_API, TURBO_TOKEN, TURBO_TEAM or TURBO_TEAMID,
 * TURBO_REMOTE_CACHE_SIGNATURE_KEY) stand in for each SLIPWAY_ one that is unset, so a CI set
 * up for turbo needs no new secrets.
 */
import path from 'node:path';
import type { Pipeline } from '../config/types.js';
import { DEFAULT_CACHE_DIR } from '../state/paths.js';

export interface RemoteSettings {
  url: string;
  team?: string;
  /** From SLIPWAY_REMOTE_CACHE_TOKEN only: the pipeline file is committed, tokens are not. */
  token?: string;
  signatureKey?: string;
  read: boolean;
  write: boolean;
  timeoutMs?: number;
}

export interface CacheSettings {
  dir: string;
  maxSize: number;
  remote?: RemoteSettings;
}

const DEFAULT_MAX_SIZE = 10 * 1024 ** 3;

/** Resolves where the cache lives, how big it may grow and which remote (if any) to use. */
export function cacheSettings(pipeline: Pipeline, env: NodeJS.ProcessEnv): CacheSettings {
  const raw = pipeline.raw.cache;
  const dir = path.resolve(pipeline.root, raw?.dir ?? DEFAULT_CACHE_DIR);
  const settings: CacheSettings = { dir, maxSize: raw?.maxSize ?? DEFAULT_MAX_SIZE };
  // An empty SLIPWAY_REMOTE_CACHE_URL turns a configured remote off (handy on a laptop).
  const url =
    env.SLIPWAY_REMOTE_CACHE_URL !== undefined
      ? env.SLIPWAY_REMOTE_CACHE_URL
      : (nonEmpty(env.TURBO_API) ?? raw?.remote?.url);
  if (!url) return settings;
  settings.remote = {
    url,
    team:
      nonEmpty(env.SLIPWAY_REMOTE_CACHE_TEAM) ??
      nonEmpty(env.TURBO_TEAMID) ??
      nonEmpty(env.TURBO_TEAM) ??
      raw?.remote?.team,
    token: nonEmpty(env.SLIPWAY_REMOTE_CACHE_TOKEN) ?? nonEmpty(env.TURBO_TOKEN),
    signatureKey:
      nonEmpty(env.SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY) ?? nonEmpty(env.TURBO_REMOTE_CACHE_SIGNATURE_KEY),
    read: raw?.remote?.read ?? true,
    write: raw?.remote?.write ?? true,
    timeoutMs: raw?.remote?.timeout,
  };
  return settings;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
