// A minimal DER reader: enough to walk an OCSP response. DER only (definite lengths, no
// high tag numbers, which OCSP never uses); anything else is a DerError.

export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface DerNode {
  /** The identifier octet: class (2 bits), constructed (1 bit), tag number (5 bits). */
  tag: number;
  content: Buffer;
}

export const DER_CLASS_CONTEXT = 0x80;
const CONSTRUCTED = 0x20;

/** Reads one element at `offset`; returns it and the offset just past it. */
export function readElement(buffer: Buffer, offset: number): { node: DerNode; next: number } {
  if (offset + 2 > buffer.length) throw new DerError(`truncated element at ${offset}`);
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at ${offset}`);
  let length = buffer[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 octets would be a >4 GiB element.
    if (octets === 0 || octets > 4) throw new DerError(`unsupported length form at ${offset}`);
    if (start + octets > buffer.length) throw new DerError(`truncated length at ${offset}`);
    length = buffer.readUIntBE(start, octets);
    start += octets;
  }
  const end = start + length;
  if (end > buffer.length) throw new DerError(`element at ${offset} runs past the end (${end} > ${buffer.length})`);
  return { node: { tag, content: buffer.subarray(start, end) }, next: end };
}

/** Reads a whole buffer that must hold exactly one element. */
export function readDer(buffer: Buffer): DerNode {
  const { node, next } = readElement(buffer, 0);
  if (next !== buffer.length) throw new DerError(`${buffer.length - next} bytes after the element`);
  return node;
}

/** The elements inside a constructed one (SEQUENCE, SET, explicit tags). */
export function children(node: DerNode): DerNode[] {
  if (!(node.tag & CONSTRUCTED)) throw new DerError(`tag 0x${node.tag.toString(16)} is not constructed`);
  const nodes: DerNode[] = [];
  for (let offset = 0; offset < node.content.length;) {
    const { node: child, next } = readElement(node.content, offset);
    nodes.push(child);
    offset = next;
  }
  return nodes;
}

/** Returns the node if its tag is `tag`, else throws: for fields the grammar makes mandatory. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`expected ${what} (tag 0x${tag.toString(16)}), got ${node ? `0x${node.tag.toString(16)}` : 'nothing'}`);
  return node;
}

export const DER = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OID: 0x06,
  ENUMERATED: 0x0a,
  SEQUENCE: 0x30,
} as const;

/** An INTEGER's content as a non-negative BigInt (serial numbers are positive). */
export function unsignedInteger(node: DerNode): bigint {
  return node.content.length === 0 ? 0n : BigInt(`0x${node.content.toString('hex')}`);
}
