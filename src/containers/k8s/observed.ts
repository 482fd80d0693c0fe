/**
 * What a workload really does, from a metrics file or Slipway's own measurements: start-up time,
 * CPU and memory use. Keys: `<workload>/<container>` or `<workload>` (every container).
 */
import * as z from 'zod';
import { cpuMillis, memBytes } from './quantity.js';

export interface Observed {
  startupSeconds?: number;
  /** CPU millicores at the 90th percentile and the peak. */
  cpuP90?: number;
  cpuPeak?: number;
  /** Memory bytes, peak working set. */
  memoryPeak?: number;
  /** Where the numbers come from, said in findings. */
  source: string;
}

const quantity = z.union([z.number(), z.string()]);

export const metricsFileSchema = z.strictObject({
  containers: z.record(
    z.string(),
    z.strictObject({
      startupSeconds: z.number().nonnegative().optional(),
      cpuP90: quantity.optional(),
      cpuPeak: quantity.optional(),
      memoryPeak: quantity.optional(),
    }),
  ),
});

export type Observations = ReadonlyMap<string, Observed>;

/** Observations from a parsed metrics file. */
export function observationsFrom(
  data: z.output<typeof metricsFileSchema>,
  source: string,
): Map<string, Observed> {
  const out = new Map<string, Observed>();
  for (const [key, v] of Object.entries(data.containers)) {
    const o: Observed = { source };
    if (v.startupSeconds !== undefined) o.startupSeconds = v.startupSeconds;
    const p90 = v.cpuP90 === undefined ? null : cpuMillis(v.cpuP90);
    const peak = v.cpuPeak === undefined ? null : cpuMillis(v.cpuPeak);
    const mem = v.memoryPeak === undefined ? null : memBytes(v.memoryPeak);
    if (p90 !== null) o.cpuP90 = p90;
    if (peak !== null) o.cpuPeak = peak;
    if (mem !== null) o.memoryPeak = mem;
    out.set(key, o);
  }
  return out;
}

/** The observation for a container of a workload (`*`: every workload, e.g. from deploy history). */
export function observedFor(obs: Observations, workload: string, container: string): Observed | undefined {
  return obs.get(`${workload}/${container}`) ?? obs.get(workload) ?? obs.get('*');
}
