/** When a command may go to the daemon: only run, plan and deploy, never when turned off, not under CI unless asked. */
import { describe, expect, it } from 'vitest';
import { daemonAllowed, nativeVerdict } from './client.js';

describe('daemonAllowed', () => {
  it('takes run, plan and deploy, with global options before them', () => {
    expect(daemonAllowed(['run', 'build'], {})).toBe(true);
    expect(daemonAllowed(['-f', 'x/slipway.yml', 'plan'], {})).toBe(true);
    expect(daemonAllowed(['deploy', 'prod', '--version', 'v2'], {})).toBe(true);
    expect(daemonAllowed(['history'], {})).toBe(false);
    expect(daemonAllowed(['serve'], {})).toBe(false);
    expect(daemonAllowed(['agent', '--dir', 'a'], {})).toBe(false);
    expect(daemonAllowed(['rollback', 'prod'], {})).toBe(false);
    expect(daemonAllowed([], {})).toBe(false);
  });

  it('is off with --no-daemon or SLIPWAY_DAEMON=0', () => {
    expect(daemonAllowed(['run', '--no-daemon'], {})).toBe(false);
    expect(daemonAllowed(['run'], { SLIPWAY_DAEMON: '0' })).toBe(false);
    expect(daemonAllowed(['run'], { SLIPWAY_DAEMON: 'false' })).toBe(false);
  });

  it('is off where CI is set, unless SLIPWAY_DAEMON=1', () => {
    expect(daemonAllowed(['run'], { CI: 'true' })).toBe(false);
    expect(daemonAllowed(['run'], { CI: 'true', SLIPWAY_DAEMON: '1' })).toBe(true);
    expect(daemonAllowed(['run'], { CI: 'false' })).toBe(true);
  });

  it('never hands a fault-injection run to another process', () => {
    expect(daemonAllowed(['run'], { SLIPWAY_FAILPOINT: 'archive:1' })).toBe(false);
  });
});

describe('nativeVerdict', () => {
  it("reads only the native client's three answers", () => {
    expect(nativeVerdict('absent')).toBe('absent');
    expect(nativeVerdict('stale')).toBe('stale');
    expect(nativeVerdict('declined')).toBe('declined');
    expect(nativeVerdict(undefined)).toBeUndefined();
    expect(nativeVerdict('1')).toBeUndefined();
  });
});
