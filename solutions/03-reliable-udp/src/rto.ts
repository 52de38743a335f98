// Retransmission timeout after RFC 6298: a smoothed RTT and its variation, doubled on every
// timeout (backoff) until a fresh measurement resets it.
export const INITIAL_RTO_MS = 200;
/** A floor: below it a host that stalls for a moment would look like a lost packet. */
const MIN_RTO_MS = 200;
const MAX_RTO_MS = 4_000;
/** Clock granularity G of the RFC. */
const GRANULARITY_MS = 10;

export class RtoEstimator {
  private srttMs: number | undefined;
  private rttvarMs = 0;
  private backoff = 1;

  /** One RTT measured from a segment sent only once (Karn: never from a retransmitted one). */
  sample(rttMs: number): void {
    if (this.srttMs === undefined) {
      this.srttMs = rttMs;
      this.rttvarMs = rttMs / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - rttMs);
      this.srttMs = 0.875 * this.srttMs + 0.125 * rttMs;
    }
    this.backoff = 1;
  }

  /**
   * New data was acknowledged, so the path works again: back to the estimate. (Karn's rule
   * forbids a sample from a resent segment, not this; Linux does the same.)
   */
  progress(): void {
    this.backoff = 1;
  }

  /** A timeout fired: wait twice as long next time. */
  backOff(): void {
    this.backoff = Math.min(this.backoff * 2, 64);
  }

  get rtoMs(): number {
    const base = this.srttMs === undefined ? INITIAL_RTO_MS : this.srttMs + Math.max(GRANULARITY_MS, 4 * this.rttvarMs);
    return Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, base) * this.backoff);
  }
}
