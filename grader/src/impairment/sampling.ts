import type { LinkDirection } from './profile.ts';

export type Uniform = () => number;

/** A small, fast seeded PRNG (mulberry32), so a failing test can be replayed byte for byte. */
export function seededRandom(seed: number): Uniform {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function standardNormal(random: Uniform): number {
  // Box-Muller; 1 - u keeps log() away from 0.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * A Pareto sample with shape 3 rescaled to mean 0 and standard deviation 1: mostly a little
 * below the mean, with a long tail of late packets (the shape netem's pareto table has).
 */
function standardPareto(random: Uniform): number {
  const shape = 3;
  const mean = shape / (shape - 1);
  const sd = Math.sqrt(shape / ((shape - 1) ** 2 * (shape - 2)));
  return ((1 - random()) ** (-1 / shape) - mean) / sd;
}

/** One delay in ms for a packet (or a segment) under `direction`'s delay and jitter, never below 0. */
export function sampleDelayMs(direction: LinkDirection, random: Uniform): number {
  const { delayMs, jitterMs } = direction;
  if (jitterMs === 0) return delayMs;
  let z: number;
  switch (direction.distribution) {
    case 'uniform':
      z = (random() * 2 - 1) * Math.sqrt(3); // uniform in [-j√3, j√3] has standard deviation j
      break;
    case 'normal':
      z = standardNormal(random);
      break;
    case 'pareto':
      z = standardPareto(random);
      break;
    case 'paretonormal':
      // netem's paretonormal: a quarter pareto, three quarters normal.
      z = 0.25 * standardPareto(random) + 0.75 * standardNormal(random);
      break;
  }
  return Math.max(0, delayMs + z * jitterMs);
}

/**
 * Per-packet loss with memory: the Gilbert-Elliott chain when the direction has burst loss,
 * plain independent loss otherwise.
 */
export class LossModel {
  private bad = false;

  constructor(
    private readonly direction: LinkDirection,
    private readonly random: Uniform,
  ) {}

  lose(): boolean {
    const burst = this.direction.burstLoss;
    if (!burst) return this.random() * 100 < this.direction.lossPercent;
    if (this.bad ? this.random() * 100 < burst.leaveBadPercent : this.random() * 100 < burst.enterBadPercent) this.bad = !this.bad;
    return this.random() * 100 < (this.bad ? burst.badLossPercent : burst.goodLossPercent);
  }
}
