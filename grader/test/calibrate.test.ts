import { describe, expect, test } from 'vitest';
import { attemptSeed, calibrateLink, type Probe } from '../src/impairment/calibrate.ts';
import { loadProfile } from '../src/impairment/profile.ts';

describe('calibrateLink', () => {
  test('measures a failed link once more, from a seed of its own', async () => {
    // A probe that never answers: every loss check fails, so both attempts run.
    const probe: Probe = {
      target: { host: '127.0.0.1', port: 9 },
      stats: async () => ({ datagrams: 0, distinct: 0, replies: 0, ratePhase: 0, rateBytes: 0, rateFirstMs: 0, rateLastMs: 0 }),
    };
    const seeds: number[] = [];
    const calibration = await calibrateLink(probe, loadProfile('lossy'), 'userspace', async (attempt) => {
      seeds.push(attemptSeed(1_234, attempt));
      return 0;
    });
    expect(calibration.ok).toBe(false);
    expect(calibration.attempts).toBe(2);
    expect(seeds[0]).toBe(1_234);
    expect(seeds[1]).not.toBe(1_234);
  });

  test('attempt seeds stay in the range --seed accepts', () => {
    for (const seed of [0, 1, 2 ** 31 - 1]) {
      for (const attempt of [1, 2]) {
        const derived = attemptSeed(seed, attempt);
        expect(Number.isInteger(derived) && derived >= 0 && derived < 2 ** 31).toBe(true);
      }
    }
  });
});
