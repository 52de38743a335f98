import { createHash } from 'node:crypto';
import { seededRandom } from '../impairment/sampling.ts';

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
