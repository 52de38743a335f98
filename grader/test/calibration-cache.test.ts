import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Calibration } from '../src/impairment/calibrate.ts';
import { CALIBRATION_MAX_AGE_MS, CalibrationCache, calibrationKey } from '../src/impairment/calibration-cache.ts';

const full = (ok = true): Calibration => ({
  profile: 'wan',
  backend: 'userspace',
  ok,
  attempts: 1,
  probes: 400,
  figures: { medianRttMs: 40.2 },
  checks: [],
  durationMs: 4_000,
  method: 'full',
});

describe('the calibration cache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-cache-test-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('a passed full calibration is found under its key, with when it was made', async () => {
    let now = Date.parse('2026-12-02T10:00:00Z');
    const cache = new CalibrationCache(path.join(dir, 'c.json'), CALIBRATION_MAX_AGE_MS, () => now);
    const key = calibrationKey({ engine: 'a', link: { delayMs: 20 } });
    await cache.put(key, full());
    now += 3_600_000;
    expect(await cache.get(key)).toEqual({ calibratedAt: '2026-12-02T10:00:00.000Z', probes: 400, figures: { medianRttMs: 40.2 } });
    // Another engine, image or profile is another key.
    expect(await cache.get(calibrationKey({ engine: 'b', link: { delayMs: 20 } }))).toBeUndefined();
    expect(await cache.get(calibrationKey({ engine: 'a', link: { delayMs: 21 } }))).toBeUndefined();
  });

  test('past the maximum age an entry is not used, and the next write drops it', async () => {
    let now = Date.parse('2026-12-02T10:00:00Z');
    const file = path.join(dir, 'c.json');
    const cache = new CalibrationCache(file, CALIBRATION_MAX_AGE_MS, () => now);
    await cache.put('old', full());
    now += CALIBRATION_MAX_AGE_MS + 1;
    expect(await cache.get('old')).toBeUndefined();
    await cache.put('new', full());
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).entries)).toEqual(['new']);
  });

  test('failed and re-verified calibrations are never stored', async () => {
    const cache = new CalibrationCache(path.join(dir, 'c.json'));
    await cache.put('failed', full(false));
    await cache.put('quick', { ...full(), probes: 100, method: 'reverified' });
    expect(await cache.get('failed')).toBeUndefined();
    expect(await cache.get('quick')).toBeUndefined();
  });

  test('a file that is not ours (not JSON, wrong shape) counts as empty and is replaced on the next write', async () => {
    const file = path.join(dir, 'c.json');
    const cache = new CalibrationCache(file);
    await writeFile(file, 'not json');
    expect(await cache.get('k')).toBeUndefined();
    await writeFile(file, JSON.stringify({ version: 1, entries: { k: { calibratedAt: 'x', probes: 'many' } } }));
    expect(await cache.get('k')).toBeUndefined();
    await cache.put('k', full());
    expect(await cache.get('k')).toMatchObject({ probes: 400 });
  });
});
