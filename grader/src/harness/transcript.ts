/**
 * A byte-level record of what a test sent and received, printed when the test fails, so a
 * learner sees exactly what crossed the wire (as CodeCrafters' testers do).
 */
type Direction = 'sent' | 'received' | 'note';

interface TranscriptEvent {
  readonly atMs: number;
  readonly connection: string;
  readonly direction: Direction;
  readonly text: string;
}

const PREVIEW_BYTES = 48;
const MAX_EVENTS = 60;

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
  private readonly events: TranscriptEvent[] = [];
  private omitted = 0;
  private readonly totals = new Map<string, { sent: number; received: number }>();

  record(connection: string, direction: Direction, data: Uint8Array | string): void {
    if (direction !== 'note') {
      const total = this.totals.get(connection) ?? { sent: 0, received: 0 };
      total[direction] += (data as Uint8Array).length;
      this.totals.set(connection, total);
    }
    if (this.events.length >= MAX_EVENTS) {
      this.omitted++;
      return;
    }
    const text =
      typeof data === 'string' ? data : `${data.length} byte${data.length === 1 ? '' : 's'} ${previewBytes(data)}`;
    this.events.push({ atMs: performance.now() - this.startedAt, connection, direction, text });
  }

  get isEmpty(): boolean {
    return this.events.length === 0;
  }

  render(): string {
    const arrow = { sent: '->', received: '<-', note: '  ' } as const;
    const lines = this.events.map(
      (e) => `${(e.atMs / 1000).toFixed(3).padStart(8)}s ${e.connection.padEnd(6)} ${arrow[e.direction]} ${e.text}`,
    );
    if (this.omitted > 0) lines.push(`          ... ${this.omitted} more events not shown`);
    for (const [connection, total] of this.totals) {
      lines.push(`          ${connection}: ${total.sent} bytes sent, ${total.received} bytes received in all`);
    }
    return lines.join('\n');
  }
}
