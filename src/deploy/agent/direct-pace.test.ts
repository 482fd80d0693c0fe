import { afterEach, describe, expect, it } from 'vitest';
import { DirectPace, directWritesPay, noteDirectPace, noteSyncPace, resetDirectPace } from './direct-pace.js';

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
    expect(noteDirectPace(pace)).toBe(false);
    noteSyncPace(4 * MiB, 1000);
    expect(directWritesPay()).toBe(true);
  });

  it('turns direct writes off after a slow file, on again when a sync finds the disk fast', () => {
    const { clock, pace } = paced();
    pace.started();
    clock.at = 2000; // 200 MiB in 2 s: ~100 MB/s
    pace.finished(200 * MiB);
    expect(noteDirectPace(pace)).toBe(true);
    expect(directWritesPay()).toBe(false);
    noteSyncPace(32 * MiB, 30); // ~1 GB/s
    expect(directWritesPay()).toBe(true);
  });

  it('turns them off before any direct write when a streamed file synced slowly', () => {
    expect(directWritesPay()).toBe(true);
    noteSyncPace(32 * MiB, 100); // ~320 MB/s
    expect(directWritesPay()).toBe(false);
  });

  it('keeps direct writes on after a fast file', () => {
    const { clock, pace } = paced();
    pace.started();
    clock.at = 200; // 200 MiB in 0.2 s
    pace.finished(200 * MiB);
    expect(noteDirectPace(pace)).toBe(false);
    expect(directWritesPay()).toBe(true);
  });
});
