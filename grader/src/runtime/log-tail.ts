/** Keeps the last bytes a process printed, so a log flood cannot exhaust the grader's memory. */
export class LogTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private droppedBytes = 0;

  constructor(private readonly capBytes = 64 * 1024) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.capBytes && this.chunks.length > 1) {
      const first = this.chunks.shift()!;
      this.size -= first.length;
      this.droppedBytes += first.length;
    }
  }

  /** The bytes kept, at most the last `capBytes` of them, with a line saying so when earlier ones were dropped. */
  bytes(): Buffer {
    const kept = Buffer.concat(this.chunks);
    const cut = kept.length > this.capBytes ? kept.subarray(kept.length - this.capBytes) : kept;
    return cut.length < kept.length || this.droppedBytes > 0 ? Buffer.concat([Buffer.from('[... earlier output omitted]\n'), cut]) : cut;
  }

  lines(maxLines = 40): string {
    const lines = Buffer.concat(this.chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const kept = lines.slice(-maxLines);
    const omitted = lines.length - kept.length;
    const head = omitted > 0 || this.droppedBytes > 0 ? `[... earlier output omitted]\n` : '';
    return head + kept.join('\n');
  }
}

/** Docker's log stream without a TTY interleaves stdout and stderr in 8-byte-header frames. */
export function demultiplexLogs(raw: Buffer, capBytes?: number): LogTail {
  const tail = new LogTail(capBytes);
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    tail.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return tail;
}

/** The payload of Docker's multiplexed log frames for one stream, capped at `maxBytes`. */
export function demultiplexBytes(raw: Buffer, maxBytes: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (let offset = 0; offset + 8 <= raw.length && total < maxBytes;) {
    const size = raw.readUInt32BE(offset + 4);
    const part = raw.subarray(offset + 8, Math.min(offset + 8 + size, offset + 8 + maxBytes - total));
    parts.push(part);
    total += part.length;
    offset += 8 + size;
  }
  return Buffer.concat(parts);
}
