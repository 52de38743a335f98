// The event-loop line protocol: what a complete line asks for, and the bytes STREAM sends.
// Lines end with \n (a \r before it is stripped). ECHO <text>, SLEEP <ms>, STREAM <n>, STATS,
// QUIT; anything else is an error line.

/** A line longer than this (bytes before its \n) is refused: ERR line too long, then close. */
export const MAX_LINE_BYTES = 64 * 1024;
export const MAX_SLEEP_MS = 60_000;
export const MAX_STREAM_BYTES = 4 * 1024 * 1024 * 1024;
/** STREAM's byte i is i % 251: a prime, so the pattern never lines up with a power-of-two chunk. */
export const PATTERN_PERIOD = 251;
/** STREAM writes at most this much per turn of the loop. */
export const STREAM_CHUNK_BYTES = 64 * 1024;

export type Command =
  | { readonly op: 'echo'; readonly text: Buffer }
  | { readonly op: 'sleep'; readonly ms: number }
  | { readonly op: 'stream'; readonly bytes: number }
  | { readonly op: 'stats' }
  | { readonly op: 'quit' }
  | { readonly op: 'error'; readonly message: 'unknown command' | 'bad argument' };

const EMPTY = Buffer.alloc(0);
const unknown: Command = { op: 'error', message: 'unknown command' };
const badArgument: Command = { op: 'error', message: 'bad argument' };

/** An integer written in decimal digits only (no sign, no spaces), at most `max`. */
function parseCount(argument: Buffer | undefined, max: number): number | undefined {
  if (!argument || argument.length === 0 || argument.length > 12) return undefined;
  for (const byte of argument) if (byte < 0x30 || byte > 0x39) return undefined;
  const value = Number(argument.toString('latin1'));
  return value <= max ? value : undefined;
}

/** One line, without its \n and \r. The command word is case-sensitive; one space before the argument. */
export function parseCommand(line: Buffer): Command {
  const space = line.indexOf(0x20);
  const word = (space < 0 ? line : line.subarray(0, space)).toString('latin1');
  // ECHO's text is bytes, not a string: whatever came in (invalid UTF-8 too) goes back unchanged.
  const argument = space < 0 ? undefined : line.subarray(space + 1);
  switch (word) {
    case 'ECHO':
      return { op: 'echo', text: argument ?? EMPTY };
    case 'SLEEP': {
      const ms = parseCount(argument, MAX_SLEEP_MS);
      return ms === undefined ? badArgument : { op: 'sleep', ms };
    }
    case 'STREAM': {
      const bytes = parseCount(argument, MAX_STREAM_BYTES);
      return bytes === undefined ? badArgument : { op: 'stream', bytes };
    }
    case 'STATS':
      return argument === undefined ? { op: 'stats' } : unknown;
    case 'QUIT':
      return argument === undefined ? { op: 'quit' } : unknown;
    default:
      return unknown;
  }
}

// Every chunk STREAM sends is a view into this one buffer (no allocation per chunk): a chunk
// starting at stream offset o starts at o % 251 here.
const PATTERN = Buffer.from(Array.from({ length: PATTERN_PERIOD + STREAM_CHUNK_BYTES }, (_, i) => i % PATTERN_PERIOD));

/** Bytes [offset, offset + length) of a STREAM; length at most STREAM_CHUNK_BYTES. */
export function streamChunk(offset: number, length: number): Buffer {
  const start = offset % PATTERN_PERIOD;
  return PATTERN.subarray(start, start + length);
}
