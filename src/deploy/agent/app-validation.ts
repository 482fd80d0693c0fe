/**
 * Application validation after an activation, measured on the host where the app runs: start-up
 * time (from the moment the agent starts the app to its first healthy answer, probed every
 * 25 ms, so it is not rounded up to the deployer's health interval), then, after a settle period,
 * the resident memory of the app's whole process group and the CPU it used while settling
 * (cores: CPU-seconds per second). The deployer reads the result with GET /v1/app/validation.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;
const PAGE = 4096;
const PROBE_MS = 25;

export interface ValidateRequest {
  /** The app's health URL as the deployer knows it; absent: no start-up time. */
  healthUrl?: string;
  settleMs: number;
  /** Longest wait for the first healthy answer. */
  deadlineMs: number;
  /** Status codes that count as healthy. */
  successStatus?: number[];
}

export interface AppValidation {
  release: string;
  state: 'measuring' | 'done';
  /** Start to first healthy answer; null without a health URL or when none came. */
  startupMs: number | null;
  /** Resident memory of the app's process group after the settle period. */
  rssBytes: number | null;
  /** CPU-seconds per second the app used during the settle period. */
  cpuCores: number | null;
  settleMs: number;
  /** What kept a number from being measured. */
  problem?: string;
}

/** RSS and CPU ticks of every process in a process group (one scan of /proc). */
function groupUsage(pgid: number): { rssBytes: number; ticks: number; processes: number } {
  let rssBytes = 0;
  let ticks = 0;
  let processes = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return { rssBytes: 0, ticks: 0, processes: 0 };
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) !== pgid || f[0] === 'Z') continue;
    processes++;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    rssBytes += Number(f[21]) * PAGE;
  }
  return { rssBytes, ticks, processes };
}

async function healthy(url: string, ok: readonly number[]): Promise<boolean> {
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(2000),
      headers: { 'user-agent': 'slipway-agent' },
    });
    await res.arrayBuffer().catch(() => undefined);
    return ok.includes(res.status);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Measures the app just started as process group `pgid` at `startedAt` (performance.now()).
 * `current` is called before each step: when it says the release is no longer the active one,
 * the measurement stops where it is.
 */
async function measureApp(opts: {
  release: string;
  pgid: number;
  startedAt: number;
  request: ValidateRequest;
  update(v: AppValidation): void;
  current(): boolean;
}): Promise<AppValidation> {
  const { request } = opts;
  const v: AppValidation = {
    release: opts.release,
    state: 'measuring',
    startupMs: null,
    rssBytes: null,
    cpuCores: null,
    settleMs: request.settleMs,
  };
  opts.update({ ...v });
  const finish = (problem?: string) => {
    const done: AppValidation = { ...v, state: 'done', ...(problem ? { problem } : {}) };
    opts.update(done);
    return done;
  };
  if (request.healthUrl) {
    const ok = request.successStatus ?? [200, 204];
    const deadline = opts.startedAt + request.deadlineMs;
    for (;;) {
      if (!opts.current()) return finish('the release was replaced while it started');
      if (await healthy(request.healthUrl, ok)) {
        v.startupMs = performance.now() - opts.startedAt;
        break;
      }
      if (performance.now() >= deadline)
        return finish(`no healthy answer within ${Math.round(request.deadlineMs / 1000)}s`);
      if (groupUsage(opts.pgid).processes === 0) return finish('the app exited before it answered');
      await sleep(PROBE_MS);
    }
    opts.update({ ...v });
  }
  const before = groupUsage(opts.pgid);
  const t0 = performance.now();
  await sleep(request.settleMs);
  if (!opts.current()) return finish('the release was replaced while it settled');
  const after = groupUsage(opts.pgid);
  if (after.processes === 0) return finish('the app exited while it settled');
  const seconds = (performance.now() - t0) / 1000;
  v.rssBytes = after.rssBytes;
  v.cpuCores = seconds > 0 ? Math.max(0, after.ticks - before.ticks) / CLK_TCK / seconds : null;
  return finish();
}

/** The agent's latest measurement; starting a new one retires the one in flight. */
export class AppValidator {
  #latest: AppValidation | null = null;
  #generation = 0;

  get latest(): AppValidation | null {
    return this.#latest;
  }

  /** Starts measuring the app just started (or, without `request`, forgets the last result). */
  start(o: { release: string; pgid: number; startedAt: number; request?: ValidateRequest }): void {
    const generation = ++this.#generation;
    this.#latest = null;
    if (!o.request) return;
    const mine = () => generation === this.#generation;
    void measureApp({
      release: o.release,
      pgid: o.pgid,
      startedAt: o.startedAt,
      request: o.request,
      current: mine,
      update: (v) => {
        if (mine()) this.#latest = v;
      },
    }).catch(() => {});
  }
}
