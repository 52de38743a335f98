import { dataMessage, finMessage, SEGMENT_BYTES } from './protocol.ts';
import { RtoEstimator } from './rto.ts';

/** Segments in flight at the start: a burst small enough not to overflow a router's queue. */
const INITIAL_WINDOW = 16;
/**
 * The most segments in flight: 128 x 1,200 bytes = 154 KB, more than a 10 Mbit/s link with a
 * 100 ms round trip holds (its bandwidth-delay product is 125 KB), so such a link stays full.
 */
const MAX_WINDOW = 128;
/** A segment is lost once this many segments sent after it have arrived (TCP's three dupacks). */
const REORDER_THRESHOLD = 3;
export const GIVE_UP_MS = 10_000;
/**
 * How far past the cumulative ack the client can report: the ack itself plus 32 SACK bits.
 * Beyond it a segment may well have arrived without our knowing, so it is judged (lost or not)
 * only once the cumulative ack comes close; resending it blindly would waste the link.
 */
const HORIZON = 33;

const UNSENT = 0;
const IN_FLIGHT = 1;
const ACKED = 2;

export interface TransferEvents {
  send(datagram: Buffer): void;
  /** The client acknowledged the FIN, or went silent for GIVE_UP_MS. */
  finished(outcome: 'done' | 'gave up'): void;
}

/**
 * The sending side of one transfer: a sliding window that grows with every acknowledged segment
 * (slow start up to MAX_WINDOW) and halves on a timeout; losses found by SACK are resent at
 * once, the rest when the retransmission timer fires, and only what is missing is ever resent.
 */
export class Transfer {
  protected giveUpMs = GIVE_UP_MS;
  protected readonly total: number;
  protected readonly state: Uint8Array;
  protected readonly sentAt: Float64Array;
  /** Position of each segment's latest transmission in the order of all transmissions. */
  private readonly sendOrder: Float64Array;
  private readonly retransmitted: Uint8Array;
  protected next = 0;
  protected cumulative = 0;
  private inFlight = 0;
  private window = INITIAL_WINDOW;
  private readonly rto = new RtoEstimator();
  private transmissions = 0;
  /** Send order of the three latest-sent segments acknowledged so far, highest first. */
  private readonly latestAcked = [0, 0, 0];
  private lastAckAt = performance.now();
  private finSentAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private completed = false;

  constructor(
    readonly id: number,
    private readonly content: Buffer,
    private readonly digest: Buffer,
    protected readonly events: TransferEvents,
  ) {
    this.total = Math.ceil(content.length / SEGMENT_BYTES);
    this.state = new Uint8Array(this.total);
    this.sentAt = new Float64Array(this.total);
    this.sendOrder = new Float64Array(this.total);
    this.retransmitted = new Uint8Array(this.total);
  }

  start(): void {
    this.lastAckAt = performance.now();
    this.fill();
    this.arm();
  }

  /** Stops every timer (the server shuts down or forgets the transfer). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  onAck(ack: number, sack: number): void {
    // After the FIN's acknowledgement the client may still lack the FIN (its ACK was a
    // duplicate); whatever it sends now gets the FIN again.
    if (this.completed) return this.resendFin();
    const now = performance.now();
    this.lastAckAt = now;
    const hadEverything = this.cumulative === this.total;
    const inFlightBefore = this.inFlight;
    let sampleSentAt = -1;
    const acknowledge = (seq: number) => {
      if (this.state[seq] !== IN_FLIGHT) return;
      this.state[seq] = ACKED;
      this.inFlight--;
      this.window = Math.min(MAX_WINDOW, this.window + 1);
      if (!this.retransmitted[seq]) sampleSentAt = Math.max(sampleSentAt, this.sentAt[seq]!);
      this.noteAcked(this.sendOrder[seq]!);
    };
    for (let seq = this.cumulative; seq < Math.min(ack, this.total); seq++) acknowledge(seq);
    for (let bit = 0; bit < 32; bit++) {
      const seq = ack + 1 + bit;
      if (seq < this.next && sack & (1 << bit)) acknowledge(seq);
    }
    while (this.cumulative < this.total && this.state[this.cumulative] === ACKED) this.cumulative++;
    if (sampleSentAt >= 0) this.rto.sample(now - sampleSentAt);
    if (this.inFlight < inFlightBefore) this.rto.progress();

    // Lost: sent before three segments that have arrived since. Resending it gives it a new
    // place in the send order, so it is not resent again until three more pass it.
    const threshold = this.latestAcked[REORDER_THRESHOLD - 1]!;
    const lost: number[] = [];
    for (let seq = this.cumulative; seq < this.horizon; seq++) {
      if (this.state[seq] === IN_FLIGHT && this.sendOrder[seq]! < threshold) lost.push(seq);
    }
    if (lost.length > 0) this.resend(lost, 'sack');

    if (this.cumulative === this.total) {
      if (!hadEverything) this.sendFin();
      else if (ack >= this.total && this.finSentAt !== undefined) return this.complete('done');
    }
    this.fill();
    this.arm();
  }

  /** Resends segments found lost: by SACK (holes below later arrivals) or by the timer. */
  protected resend(seqs: readonly number[], _cause: 'sack' | 'timeout'): void {
    for (const seq of seqs) this.transmit(seq);
  }

  /** Repeats the FIN: when its timer runs out, or for an ACK after the end. */
  protected resendFin(): void {
    this.sendFin();
  }

  protected transmit(seq: number): void {
    const payload = this.content.subarray(seq * SEGMENT_BYTES, (seq + 1) * SEGMENT_BYTES);
    this.events.send(dataMessage(this.id, seq, payload));
    if (this.state[seq] === UNSENT) {
      this.state[seq] = IN_FLIGHT;
      this.inFlight++;
    } else {
      this.retransmitted[seq] = 1;
    }
    this.sentAt[seq] = performance.now();
    this.sendOrder[seq] = ++this.transmissions;
  }

  /** The first segment past what the client can tell us about. */
  protected get horizon(): number {
    return Math.min(this.next, this.cumulative + HORIZON);
  }

  private noteAcked(order: number): void {
    const latest = this.latestAcked;
    if (order <= latest[2]!) return;
    latest[2] = order;
    latest.sort((a, b) => b - a);
  }

  private fill(): void {
    while (this.inFlight < this.window && this.next < this.total) this.transmit(this.next++);
    if (this.total === 0 && this.finSentAt === undefined) this.sendFin();
  }

  private sendFin(): void {
    this.events.send(finMessage(this.id, this.total, this.digest));
    this.finSentAt = performance.now();
  }

  /** One timer per transfer, for the oldest segment in flight, the FIN, or giving up. */
  private arm(): void {
    clearTimeout(this.timer);
    const rto = this.rto.rtoMs;
    let due = this.lastAckAt + this.giveUpMs;
    for (let seq = this.cumulative; seq < this.horizon; seq++) {
      if (this.state[seq] === IN_FLIGHT) due = Math.min(due, this.sentAt[seq]! + rto);
    }
    if (this.cumulative === this.total && this.finSentAt !== undefined) due = Math.min(due, this.finSentAt + rto);
    if (!Number.isFinite(due)) return;
    this.timer = setTimeout(() => this.onTimer(), Math.max(1, Math.ceil(due - performance.now())));
  }

  private onTimer(): void {
    const now = performance.now();
    if (now - this.lastAckAt >= this.giveUpMs) return this.complete('gave up');
    const rto = this.rto.rtoMs;
    const expired: number[] = [];
    for (let seq = this.cumulative; seq < this.horizon; seq++) {
      if (this.state[seq] === IN_FLIGHT && now - this.sentAt[seq]! >= rto) expired.push(seq);
    }
    const finExpired = this.cumulative === this.total && this.finSentAt !== undefined && now - this.finSentAt >= rto;
    if (expired.length > 0 || finExpired) {
      // A timeout means the path is worse than we thought: wait longer and send less.
      this.rto.backOff();
      this.window = Math.max(INITIAL_WINDOW, Math.floor(this.window / 2));
      if (expired.length > 0) this.resend(expired, 'timeout');
      if (finExpired) this.resendFin();
    }
    this.arm();
  }

  private complete(outcome: 'done' | 'gave up'): void {
    this.stop();
    this.completed = outcome === 'done';
    this.events.finished(outcome);
  }
}
