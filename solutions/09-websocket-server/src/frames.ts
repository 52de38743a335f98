// WebSocket frames (RFC 6455 §5.2): what a server sends (unmasked, FIN set, one frame per
// message), and the close codes a peer may send (§7.4).

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  invalidData: 1007,
  policy: 1008,
  tooBig: 1009,
} as const;

/** A frame from the server: FIN set, no mask, the shortest length encoding. */
export function frame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.length;
  const head = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (length < 126) head[1] = length;
  else if (length < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, payload]);
}

export function closeFrame(code?: number, reason: Uint8Array = new Uint8Array()): Buffer {
  if (code === undefined) return frame(Opcode.close, new Uint8Array());
  const payload = Buffer.alloc(2 + reason.length);
  payload.writeUInt16BE(code, 0);
  payload.set(reason, 2);
  return frame(Opcode.close, payload);
}

/** A close code a peer may send: the ones RFC 6455 and IANA define for use on the wire, and 3000-4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
