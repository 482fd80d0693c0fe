/**
 * The syntax of deploy windows (`environments.<name>.windows`): "Mon-Fri 02:00-05:00 UTC". Days
 * are optional (every day), a list or ranges ("Mon,Wed", "Fri-Mon"); the hours may run past midnight
 * ("22:00-02:00" belongs to the day it starts); the zone is UTC, a fixed offset ("+02:00",
 * "UTC-5") or an IANA name ("Europe/Berlin", daylight saving included). What a window means at
 * an instant is deploy/deploy-window.ts.
 */
import { err, ok, type Result } from '../util/result.js';

export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

export interface DeployWindow {
  /** As written, for messages. */
  text: string;
  /**
   * Monday = 0, ascending. An array, not a set: a pipeline's validated sections are plain JSON,
   * so its snapshot (config/snapshot.ts) holds them as they are.
   */
  days: readonly number[];
  /** Minutes after local midnight; `end` may be ≤ `start` for a window past midnight. */
  start: number;
  end: number;
  zone: { kind: 'offset'; minutes: number; name: string } | { kind: 'iana'; name: string };
}

export const WINDOW_HINT =
  'write days, hours and a zone such as "Mon-Fri 02:00-05:00 UTC", "Sat 22:00-02:00 +01:00" or "daily 01:00-04:00 Europe/Berlin"';

function dayIndex(s: string): number | undefined {
  const i = DAYS.findIndex((d) => d.toLowerCase() === s.slice(0, 3).toLowerCase());
  const full = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
  return i >= 0 && (s.length === 3 || full[i] === s.toLowerCase()) ? i : undefined;
}

function parseDays(s: string): Result<Set<number>, string> {
  if (/^(daily|every ?day|\*)$/i.test(s)) return ok(new Set([0, 1, 2, 3, 4, 5, 6]));
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const [a, b, ...rest] = part.split('-');
    const from = a === undefined ? undefined : dayIndex(a.trim());
    const to = b === undefined ? from : dayIndex(b.trim());
    if (from === undefined || to === undefined || rest.length)
      return err(`"${part.trim()}" is not a day or a range of days (Mon, Tue, … Sun)`);
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return ok(out);
}

function parseClock(s: string, isEnd: boolean): number | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && (min > 0 || !isEnd))) return undefined;
  return h * 60 + min;
}

function parseZone(s: string | undefined): Result<DeployWindow['zone'], string> {
  if (s === undefined || /^(utc|z|gmt)$/i.test(s)) return ok({ kind: 'offset', minutes: 0, name: 'UTC' });
  const m = /^(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(s);
  if (m) {
    const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
    if (Math.abs(minutes) > 14 * 60) return err(`offset ${s} is beyond ±14:00`);
    return ok({ kind: 'offset', minutes, name: s });
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s });
    return ok({ kind: 'iana', name: s });
  } catch {
    return err(`"${s}" is not a time zone (UTC, +02:00 or a name such as Europe/Berlin)`);
  }
}

/** Parses one window; the error says what is wrong with it. */
export function parseWindow(text: string): Result<DeployWindow, string> {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const hoursAt = words.findIndex((w) => /^\d{1,2}:\d{2}-\d{1,2}:\d{2}$/.test(w));
  if (hoursAt < 0) return err(`no hours such as 02:00-05:00 in "${text}"`);
  if (hoursAt > 1 || words.length > hoursAt + 2) return err(`"${text}" has more than days, hours and a zone`);
  const days = hoursAt === 1 ? parseDays(words[0]!) : ok(new Set([0, 1, 2, 3, 4, 5, 6]));
  if (!days.ok) return days;
  const [a, b] = words[hoursAt]!.split('-') as [string, string];
  const start = parseClock(a, false);
  const end = parseClock(b, true);
  if (start === undefined || end === undefined)
    return err(`"${words[hoursAt]}" is not HH:MM-HH:MM (00:00 to 24:00)`);
  if (start === end) return err(`${words[hoursAt]} is an empty window`);
  const zone = parseZone(words[hoursAt + 1]);
  if (!zone.ok) return zone;
  return ok({
    text: text.trim(),
    days: [...days.value].sort((x, y) => x - y),
    start,
    end: end % 1440 === 0 && end > 0 ? 1440 : end,
    zone: zone.value,
  });
}
