/**
 * Whether an instant is inside a deploy window (the windows are parsed by
 * config/deploy-window.ts). Pure: every function takes the instant it judges.
 */
import { DAYS, type DeployWindow } from '../config/deploy-window.js';

const MINUTE = 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday (Monday = 0) and minutes after midnight of an instant in a zone. */
function localTime(at: number, zone: DeployWindow['zone']): { day: number; minutes: number } {
  if (zone.kind === 'offset') {
    const d = new Date(at + zone.minutes * MINUTE);
    return { day: (d.getUTCDay() + 6) % 7, minutes: d.getUTCHours() * 60 + d.getUTCMinutes() };
  }
  let f = formatters.get(zone.name);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone.name,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone.name, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    day: DAYS.indexOf(parts.weekday as (typeof DAYS)[number]),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** Whether `at` falls inside the window. */
export function isOpen(w: DeployWindow, at: number): boolean {
  const { day, minutes } = localTime(at, w.zone);
  if (w.start < w.end) return w.days.includes(day) && minutes >= w.start && minutes < w.end;
  // Past midnight: the evening part on a listed day, the morning part on the day after one.
  return (w.days.includes(day) && minutes >= w.start) || (w.days.includes((day + 6) % 7) && minutes < w.end);
}

/** The first instant at or after `now` inside any of the windows (minute steps, at most 8 days). */
export function nextOpening(windows: readonly DeployWindow[], now: number): number | undefined {
  if (windows.some((w) => isOpen(w, now))) return now;
  for (let t = Math.floor(now / MINUTE) * MINUTE + MINUTE; t <= now + 8 * 1440 * MINUTE; t += MINUTE) {
    if (windows.some((w) => isOpen(w, t))) return t;
  }
  return undefined;
}
