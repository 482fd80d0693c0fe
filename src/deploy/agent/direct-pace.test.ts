import { afterEach, describe, expect, it } from 'vitest';
import { DirectPace, directWritesPay, noteDirectPace, resetDirectPace } from './direct-pace.js';

const MiB = 1024 * 1024;

/** A pace whose clock is set by hand: `at` ms. */
function paced() {
  const clock = { at: 0 };
  return { clock, pace: new DirectPace(() => clock.at) };
}

describe('direct write pace', () => {
  afterEach(() => resetDirectPace());

  it('counts only the time writes were in flight, overlapping ones once', () => {
    const { clock, pace } = paced();
    pace.started();
    pace.started(); // two at once
    clock.at = 10;
    pace.finished(16 * MiB);
    pace.finished(16 * MiB);
    clock.at = 1000; // waiting for the network: not counted
    pace.started();
    clock.at = 1010;
    pace.finished(32 * MiB);
    expect(pace.pace()).toBe((64 * MiB) / 20);
  });

  it('says nothing from a few blocks', () => {
    const { clock, pace } = paced();
    pace.started();
    clock.at = 100;
    pace.finished(4 * MiB);
    expect(pace.pace()).toBeUndefined();
    expect(noteDirectPace(pace, 100)).toBe(false);
    expect(directWritesPay(100)).toBe(true);
  });

  it('turns direct writes off for a while after a slow file, then on to measure again', () => {
    const { clock, pace } = paced();
    pace.started();
    clock.at = 2000; // 200 MiB in 2 s: ~100 MB/s
    pace.finished(200 * MiB);
    expect(noteDirectPace(pace, 2000)).toBe(true);
    expect(directWritesPay(2001)).toBe(false);
    expect(directWritesPay(2000 + 10 * 60 * 1000)).toBe(true);
  });

  it('keeps direct writes on after a fast file', () => {
    const { clock, pace } = paced();
    pace.started();
    clock.at = 200; // 200 MiB in 0.2 s
    pace.finished(200 * MiB);
    expect(noteDirectPace(pace, 200)).toBe(false);
    expect(directWritesPay(201)).toBe(true);
  });
});
