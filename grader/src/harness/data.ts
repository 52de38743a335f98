import { createHash } from 'node:crypto';

/** A small, fast seeded PRNG (mulberry32), so a failing test can be replayed byte for byte. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Deterministic pseudo-random bytes (every value 0x00-0xff appears, invalid UTF-8 included). */
export function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let block: Buffer;
  let counter = 0;
  for (let offset = 0; offset < length; offset += block.length) {
    block = createHash('sha256').update(`${seed}:${counter++}`).digest();
    block.copy(out, offset);
  }
  return out;
}

/** Random split sizes between `min` and `max` (inclusive). */
export function pieceSizes(count: number, min: number, max: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => min + Math.floor(random() * (max - min + 1)));
}
