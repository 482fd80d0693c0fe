/** Kubernetes quantities and int-or-percent values. */

/** CPU in millicores ("250m" → 250, "0.5" → 500, 2 → 2000); null when unparsable. */
export function cpuMillis(v: unknown): number | null {
  if (typeof v === 'number') return v * 1000;
  if (typeof v !== 'string') return null;
  const m = /^([0-9.]+)(m?)$/.exec(v.trim());
  if (!m) return null;
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}

const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Memory in bytes ("256Mi", "1G", 1e9); null when unparsable. */
export function memBytes(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return null;
  const m = /^([0-9.]+)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(v.trim());
  if (!m) return null;
  return Number(m[1]) * SUFFIX[m[2] ?? '']!;
}

/**
 * An int-or-string against a total, as the Deployment controller resolves it
 * (intstr.GetScaledValueFromIntOrPercent): percentages round up for maxSurge, down for maxUnavailable.
 */
export function scaled(v: unknown, total: number, roundUp: boolean, fallback: string): number {
  const x = v === undefined || v === null ? fallback : v;
  if (typeof x === 'number') return Math.max(0, Math.trunc(x));
  const m = /^(\d+)%$/.exec(String(x).trim());
  if (!m) return Math.max(0, Math.trunc(Number(x)) || 0);
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}
