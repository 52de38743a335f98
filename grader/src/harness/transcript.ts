import { visibleLine, visibleText } from '../sanitize.ts';

/**
 * A byte-level record of what a test sent and received, printed when the test fails, so a
 * learner sees exactly what crossed the wire (as CodeCrafters' testers do).
 */
type Direction = 'sent' | 'received' | 'note';

interface TranscriptEvent {
  readonly atMs: number;
  readonly connection: string;
  readonly direction: Direction;
  /** A note, or the first bytes of what crossed (formatted only if the transcript is shown). */
  readonly data: string | Buffer;
  readonly length: number;
}

/** One event as a timeline shows it: a note's text, or the quoted preview of the bytes that crossed. Untrusted. */
export interface TimelineEvent {
  readonly atMs: number;
  readonly connection: string;
  readonly direction: Direction;
  readonly length: number;
  readonly text: string;
}

const PREVIEW_BYTES = 48;
/** A note may quote a submission (a client's stderr): this much of it, at most. */
const NOTE_BOUNDS = { maxLines: 20, maxLineChars: 500 } as const;
/** The first events show how a test began, the last how it failed; the middle is left out. */
const HEAD_EVENTS = 30;
const TAIL_EVENTS = 30;

/** Bytes as a quoted string: printable ASCII as itself, every other byte as an escape (`\x1b`, `\n`). */
export function previewBytes(data: Uint8Array, maxBytes = PREVIEW_BYTES): string {
  let out = '';
  for (const byte of data.subarray(0, maxBytes)) {
    if (byte === 0x0a) out += '\\n';
    else if (byte === 0x0d) out += '\\r';
    else if (byte === 0x09) out += '\\t';
    else if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"${data.length > maxBytes ? '…' : ''}`;
}

export class Transcript {
  private readonly startedAt = performance.now();
  private readonly head: TranscriptEvent[] = [];
  /** A ring of the latest events once the head is full. */
  private readonly tail: TranscriptEvent[] = [];
  private recorded = 0;
  private readonly totals = new Map<string, { sent: number; received: number }>();
  /** A connection of the test was closed or reset from the server's side: it may have died. */
  serverHungUp = false;

  record(connection: string, direction: Direction, data: Uint8Array | string): void {
    if (direction !== 'note') {
      const total = this.totals.get(connection) ?? { sent: 0, received: 0 };
      total[direction] += (data as Uint8Array).length;
      this.totals.set(connection, total);
    }
    const event: TranscriptEvent = {
      atMs: performance.now() - this.startedAt,
      connection,
      direction,
      // A copy: callers reuse their buffers.
      data: typeof data === 'string' ? data : Buffer.from(data.subarray(0, PREVIEW_BYTES + 1)),
      length: data.length,
    };
    if (this.head.length < HEAD_EVENTS) this.head.push(event);
    else this.tail[(this.recorded - HEAD_EVENTS) % TAIL_EVENTS] = event;
    this.recorded++;
  }

  /** Bytes the submission sent on every connection of the test. */
  get bytesReceived(): number {
    let sum = 0;
    for (const total of this.totals.values()) sum += total.received;
    return sum;
  }

  get isEmpty(): boolean {
    return this.recorded === 0;
  }

  /** The events a rendering shows (the first and the last ones), in order, and how many were left out between them. */
  shownEvents(): { events: TimelineEvent[]; omitted: number; totals: ReadonlyMap<string, { sent: number; received: number }> } {
    const start = Math.max(0, this.recorded - HEAD_EVENTS - TAIL_EVENTS);
    const picked = [...this.head];
    for (let i = start; i < this.recorded - HEAD_EVENTS; i++) picked.push(this.tail[i % TAIL_EVENTS]!);
    const events = picked.map((e) => ({
      atMs: e.atMs,
      connection: e.connection,
      direction: e.direction,
      length: e.length,
      text: typeof e.data === 'string' ? e.data : previewBytes(e.data),
    }));
    return { events, omitted: start, totals: this.totals };
  }

  render(): string {
    const arrow = { sent: '->', received: '<-', note: '  ' } as const;
    const line = (e: TranscriptEvent) => {
      // A note's later lines sit behind a gutter, so quoted output cannot pose as events.
      const text =
        typeof e.data === 'string'
          ? visibleText(e.data, NOTE_BOUNDS).replace(/\n/g, '\n                   | ')
          : `${e.length} byte${e.length === 1 ? '' : 's'} ${previewBytes(e.data)}`;
      return `${(e.atMs / 1000).toFixed(3).padStart(8)}s ${visibleLine(e.connection, 40).padEnd(6)} ${arrow[e.direction]} ${text}`;
    };
    const lines = this.head.map(line);
    const start = Math.max(0, this.recorded - HEAD_EVENTS - TAIL_EVENTS);
    if (start > 0) lines.push(`          ... ${start} events not shown ...`);
    for (let i = start; i < this.recorded - HEAD_EVENTS; i++) lines.push(line(this.tail[i % TAIL_EVENTS]!));
    for (const [connection, total] of this.totals) {
      lines.push(`          ${visibleLine(connection, 40)}: ${total.sent} bytes sent, ${total.received} bytes received in all`);
    }
    return lines.join('\n');
  }
}
