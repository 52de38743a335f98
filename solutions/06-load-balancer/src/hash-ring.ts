// Consistent hashing with virtual nodes. Each backend owns VNODES points on a 32-bit ring; a key
// belongs to the first point at or after its own hash whose backend is healthy. When a backend
// leaves, only its keys move (to the next healthy point, spread over the others because its
// points are scattered); when it joins, it takes back only those. With one point per backend
// the shares would be very uneven; 160 points keep each within a few percent of 1/N.
import { createHash } from 'node:crypto';

const VNODES = 160;

export function hash32(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

export class HashRing<T> {
  private readonly points: Array<{ at: number; member: T }> = [];

  constructor(members: readonly T[], label: (member: T) => string) {
    for (const member of members) {
      for (let v = 0; v < VNODES; v++) this.points.push({ at: hash32(`${label(member)}#${v}`), member });
    }
    this.points.sort((a, b) => a.at - b.at);
  }

  /** The owner of key among the members that pass `usable`, or undefined if none does. */
  lookup(key: string, usable: (member: T) => boolean): T | undefined {
    const h = hash32(key);
    // Binary search for the first point at or after h, then walk clockwise past unusable ones.
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]!.at < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < this.points.length; i++) {
      const point = this.points[(lo + i) % this.points.length]!;
      if (usable(point.member)) return point.member;
    }
    return undefined;
  }
}
