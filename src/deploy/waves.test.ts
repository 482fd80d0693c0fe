import { describe, expect, it } from 'vitest';
import { batches, planWaves } from './waves.js';

describe('wave planning', () => {
  it('puts the smallest-traffic region first, then doubling groups by growing traffic', () => {
    const regions = [
      { name: 'us', traffic: 50 },
      { name: 'eu', traffic: 30 },
      { name: 'ap', traffic: 5 },
      { name: 'sa', traffic: 3 },
      { name: 'af', traffic: 2 },
      { name: 'me', traffic: 8 },
      { name: 'ca', traffic: 9 },
      { name: 'au', traffic: 10 },
    ];
    expect(planWaves(regions)).toEqual([['af'], ['sa', 'ap'], ['me', 'ca', 'au', 'eu'], ['us']]);
  });

  it('breaks traffic ties by name so plans are stable', () => {
    expect(
      planWaves([
        { name: 'b', traffic: 1 },
        { name: 'a', traffic: 1 },
        { name: 'c', traffic: 1 },
      ]),
    ).toEqual([['a'], ['b', 'c']]);
    expect(planWaves([])).toEqual([]);
  });

  it('splits hosts into batches of at most maxUnavailable', () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([1, 2], 0)).toEqual([[1], [2]]);
  });
});
