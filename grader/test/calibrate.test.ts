import { describe, expect, test } from 'vitest';
import { attemptSeed, calibrateLink, meanLatenessMs, type Probe } from '../src/impairment/calibrate.ts';
import { loadProfile } from '../src/impairment/profile.ts';

describe('calibrateLink', () => {
  test('measures a failed link once more: prepare() is asked for attempt 1, then attempt 2', async () => {
    // A probe that never answers: every loss check fails, so both attempts run.
    const probe: Probe = {
      target: { host: '127.0.0.1', port: 9 },
      stats: async () => ({ datagrams: 0, distinct: 0, replies: 0, ratePhase: 0, rateBytes: 0, rateFirstMs: 0, rateLastMs: 0 }),
    };
    const attempts: number[] = [];
    const calibration = await calibrateLink(probe, loadProfile('lossy'), 'userspace', async (attempt) => {
      attempts.push(attempt);
      return { rttMs: 0, lateMs: 0 };
    });
    expect(calibration.ok).toBe(false);
    expect(calibration.attempts).toBe(2);
    expect(attempts).toEqual([1, 2]);
  });

  test('attempt 1 keeps the run seed (so --seed replays a grade); attempt 2 draws from another', () => {
    expect(attemptSeed(1_234, 1)).toBe(1_234);
    expect(attemptSeed(1_234, 2)).not.toBe(1_234);
  });

  test('attempt seeds stay in the range --seed accepts', () => {
    for (const seed of [0, 1, 2 ** 31 - 1]) {
      for (const attempt of [1, 2]) {
        const derived = attemptSeed(seed, attempt);
        expect(Number.isInteger(derived) && derived >= 0 && derived < 2 ** 31).toBe(true);
      }
    }
  });

  test("the engine's lateness is the mean over the packets it released on a timer during the round, in ms", () => {
    expect(meanLatenessMs({ timed: 100, lateness_us: 5_000 }, { timed: 500, lateness_us: 85_000 })).toBe(0.2);
    // netem keeps no counters; a round with nothing held adds nothing.
    expect(meanLatenessMs(undefined, undefined)).toBe(0);
    expect(meanLatenessMs({ timed: 7, lateness_us: 9 }, { timed: 7, lateness_us: 9 })).toBe(0);
  });
});
