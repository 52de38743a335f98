import { describe, expect, test } from 'vitest';
import { engineConfig, netemApplyCommands, netemArguments } from '../src/impairment/backend-commands.ts';
import { binomialInterval } from '../src/impairment/binomial.ts';
import { expectedMedianRttMs } from '../src/impairment/calibrate.ts';
import { BUILTIN_PROFILE_NAMES, dropProbability, loadProfile, parseProfile } from '../src/impairment/profile.ts';
import { LossModel, seededRandom } from '../src/impairment/sampling.ts';
import { parseManifest } from '../src/catalog/manifest.ts';

describe('impairment profiles', () => {
  test('the built-ins include the seven the grader promises, and all validate', () => {
    expect(BUILTIN_PROFILE_NAMES).toEqual(expect.arrayContaining(['clean', 'lan', 'wan', 'lossy', 'satellite', 'chaos', 'blackhole']));
    for (const name of BUILTIN_PROFILE_NAMES) expect(() => loadProfile(name)).not.toThrow();
  });

  test('top-level fields apply both ways; egress and ingress override one direction', () => {
    const link = parseProfile('t', { delayMs: 10, lossPercent: 1, egress: { delayMs: 30 }, ingress: { rateKbit: 512 } });
    expect(link.egress).toMatchObject({ delayMs: 30, lossPercent: 1 });
    expect(link.ingress).toMatchObject({ delayMs: 10, lossPercent: 1, rateKbit: 512 });
    expect(link.egress.rateKbit).toBeUndefined();
  });

  test('validation errors name the field', () => {
    expect(() => parseProfile('t', { lossPercent: 120 })).toThrow(/invalid impairment profile t: lossPercent: /);
    expect(() => parseProfile('t', { egress: { jitterMs: -1 } })).toThrow(/egress\.jitterMs/);
    expect(() => parseProfile('t', { dealyMs: 5 })).toThrow(/Unrecognized key: "dealyMs"/);
    expect(() => parseProfile('t', { distribution: 'gaussian' })).toThrow(/distribution/);
    expect(() => parseProfile('t', { burstLoss: { enterBadPercent: 1, leaveBadPercent: 0 } })).toThrow(/burstLoss\.leaveBadPercent/);
  });

  test('reordering needs a delay, as in netem, in the direction that reorders', () => {
    expect(() => parseProfile('t', { reorderPercent: 5 })).toThrow(/reorderPercent: reorder needs delayMs/);
    expect(() => parseProfile('t', { delayMs: 5, ingress: { delayMs: 0, reorderPercent: 5 } })).toThrow(/ingress\.reorderPercent/);
    expect(() => parseProfile('t', { delayMs: 5, reorderPercent: 5 })).not.toThrow();
  });

  test('an unknown profile name is a config error that lists the real ones', () => {
    expect(() => loadProfile('wann')).toThrow(/no impairment profile "wann"; the profiles are clean, lan, wan/);
  });

  test('manifests may only name existing profiles', () => {
    const manifest = { id: 'demo', title: 'D', summary: 'S', difficulty: 'easy', kind: 'server', transport: 'tcp' };
    expect(() => parseManifest({ ...manifest, stages: [{ stage: 1, title: 'one', points: 1, profiles: ['wann'] }] }, 'demo')).toThrow(
      /stages\.0\.profiles\.0: no impairment profile "wann"/,
    );
  });

  test('drop probability combines loss, the long-run burst loss and corruption', () => {
    expect(dropProbability(parseProfile('t', { lossPercent: 10, corruptPercent: 10 }).egress)).toBeCloseTo(0.19, 10);
    // Bad 1/(1+4) of the time, losing everything there; good otherwise.
    expect(dropProbability(parseProfile('t', { burstLoss: { enterBadPercent: 10, leaveBadPercent: 40 } }).egress)).toBeCloseTo(0.2, 10);
  });

  test('the Gilbert-Elliott model loses at its long-run rate, in bursts', () => {
    const direction = parseProfile('t', { burstLoss: { enterBadPercent: 2, leaveBadPercent: 25 } }).egress;
    const model = new LossModel(direction, seededRandom(7));
    const outcomes = Array.from({ length: 200_000 }, () => model.lose());
    const rate = outcomes.filter(Boolean).length / outcomes.length;
    expect(rate).toBeGreaterThan(0.07); // expected 2/27 = 0.074
    expect(rate).toBeLessThan(0.079);
    const lossAfterLoss = outcomes.filter((lost, i) => lost && outcomes[i - 1]).length / outcomes.filter(Boolean).length;
    expect(lossAfterLoss, 'losses come in bursts: a loss is followed by another 75 % of the time').toBeGreaterThan(0.7);
  });
});

describe('backend commands', () => {
  test('netem gets the profile as tc arguments, with a large limit', () => {
    const wan = loadProfile('wan');
    expect(netemArguments(wan.egress)).toEqual(['limit', '100000', 'delay', '20ms', '5ms', 'distribution', 'normal']);
    const chaos = loadProfile('chaos');
    expect(netemArguments(chaos.ingress).join(' ')).toBe(
      'limit 100000 delay 15ms 5ms distribution paretonormal loss gemodel 0.5% 40% 50% 0.5% duplicate 1% reorder 2% corrupt 0.2% rate 20000kbit',
    );
    expect(netemArguments(wan.egress, true)).toEqual(['limit', '100000', 'loss', 'random', '100%']);
  });

  test('netem shapes egress on eth0 and ingress on the ifb device', () => {
    const [egress, ingress] = netemApplyCommands(loadProfile('satellite'));
    expect(egress!.slice(0, 7)).toEqual(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem']);
    expect(egress).toContain('512kbit');
    expect(ingress!.slice(0, 7)).toEqual(['tc', 'qdisc', 'replace', 'dev', 'ifb0', 'root', 'netem']);
    expect(ingress).toContain('2000kbit');
  });

  test('the userspace engine config carries both directions in engine units', () => {
    const config = engineConfig(loadProfile('lossy'), 3, 42);
    expect(config).toContain('generation=3\nseed=42\n');
    expect(config).toContain('egress.delay_us=10000\n');
    expect(config).toContain('ingress.loss=0.020000\n');
    expect(config).toContain('ingress.partition=0\n');
    expect(engineConfig(loadProfile('lossy'), 4, 42, true)).toContain('egress.partition=1\n');
  });
});

describe('calibration statistics', () => {
  test('the 99 % binomial interval holds the mean and leaves at most 1 % outside', () => {
    const { lo, hi } = binomialInterval(400, 0.05);
    expect(lo).toBeLessThan(20);
    expect(hi).toBeGreaterThan(20);
    expect([lo, hi]).toEqual([10, 32]); // checked against an exact computation in Python
    expect(binomialInterval(400, 0)).toEqual({ lo: 0, hi: 0 });
    expect(binomialInterval(400, 1)).toEqual({ lo: 400, hi: 400 });
  });

  test('the expected median RTT is the two one-way delays, less what reordering skips', () => {
    expect(expectedMedianRttMs(loadProfile('wan'))).toBeCloseTo(40, 0);
    expect(expectedMedianRttMs(loadProfile('clean'))).toBe(0);
  });
});
