/**
 * Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html): just enough to
 * cut one test's packets out of a capture that ran for a whole test file. The capture's packets
 * are untrusted bytes; only the record framing is read, never their contents.
 */

/** One packet of a capture, its time in microseconds since the epoch. */
export interface PcapRecord {
  readonly timeUs: number;
  readonly originalLength: number;
  readonly data: Buffer;
}

export interface PcapFile {
  readonly linkType: number;
  readonly snapLength: number;
  readonly records: readonly PcapRecord[];
}

const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;
const HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/**
 * The records of one pcap file, in either byte order and with micro- or nanosecond stamps. A
 * last record cut short (tcpdump was still writing it, or the file is being rotated) is left
 * out; anything that is not a pcap file at all is an error.
 */
export function readPcap(bytes: Buffer): PcapFile {
  if (bytes.length < HEADER_BYTES) throw new Error(`not a pcap file: ${bytes.length} bytes, shorter than its header`);
  const magicLe = bytes.readUInt32LE(0);
  const littleEndian = magicLe === MAGIC_MICROS || magicLe === MAGIC_NANOS;
  const magic = littleEndian ? magicLe : bytes.readUInt32BE(0);
  if (magic !== MAGIC_MICROS && magic !== MAGIC_NANOS) throw new Error(`not a classic pcap file (magic 0x${magicLe.toString(16)})`);
  const u32 = (offset: number) => (littleEndian ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset));
  const fractionPerUs = magic === MAGIC_NANOS ? 1_000 : 1;
  const snapLength = u32(16);
  const linkType = u32(20) & 0x0fff_ffff;
  const records: PcapRecord[] = [];
  for (let offset = HEADER_BYTES; offset + RECORD_HEADER_BYTES <= bytes.length;) {
    const included = u32(offset + 8);
    const end = offset + RECORD_HEADER_BYTES + included;
    if (end > bytes.length) break;
    records.push({
      timeUs: u32(offset) * 1_000_000 + Math.floor(u32(offset + 4) / fractionPerUs),
      originalLength: u32(offset + 12),
      data: bytes.subarray(offset + RECORD_HEADER_BYTES, end),
    });
    offset = end;
  }
  return { linkType, snapLength, records };
}

/** A classic pcap file (little-endian, microseconds: what every reader takes) of `records`. */
export function writePcap(linkType: number, snapLength: number, records: readonly PcapRecord[]): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC_MICROS, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(snapLength, 16);
  header.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [header];
  for (const record of records) {
    const head = Buffer.alloc(RECORD_HEADER_BYTES);
    head.writeUInt32LE(Math.floor(record.timeUs / 1_000_000), 0);
    head.writeUInt32LE(record.timeUs % 1_000_000, 4);
    head.writeUInt32LE(record.data.length, 8);
    head.writeUInt32LE(record.originalLength, 12);
    parts.push(head, record.data);
  }
  return Buffer.concat(parts);
}

/**
 * The packets of several files of one capture (a tcpdump ring) stamped from `fromMs` to `toMs`
 * (epoch milliseconds), in time order, as one pcap file; undefined when no file could be read.
 */
export function cutPcap(files: readonly Buffer[], fromMs: number, toMs: number): Buffer | undefined {
  const read = files.flatMap((bytes) => {
    try {
      return [readPcap(bytes)];
    } catch {
      return [];
    }
  });
  const first = read[0];
  if (!first) return undefined;
  const records = read
    .filter((file) => file.linkType === first.linkType)
    .flatMap((file) => file.records)
    .filter((r) => r.timeUs >= fromMs * 1_000 && r.timeUs <= toMs * 1_000)
    .sort((a, b) => a.timeUs - b.timeUs);
  return writePcap(first.linkType, Math.max(...read.map((f) => f.snapLength)), records);
}
