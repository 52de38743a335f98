// The chat protocol's vocabulary: limits, names, and how a line splits into a command.

/** Longest line, in bytes before its `\n` (a `\r` before the `\n` counts, then is dropped). */
export const MAX_LINE_BYTES = 4_096;

const NICK = /^[A-Za-z0-9_-]{1,16}$/;
const ROOM = /^#[A-Za-z0-9_-]{1,32}$/;

export const isNick = (name: string) => NICK.test(name);
export const isRoom = (name: string) => ROOM.test(name);

/** What the server answers with when a command goes wrong; one line each. */
export const Err = {
  noNick: 'ERR no nick',
  badNick: 'ERR bad nick',
  nickTaken: 'ERR nick taken',
  badRoom: 'ERR bad room',
  notInRoom: 'ERR not in room',
  noSuchNick: 'ERR no such nick',
  unknownCommand: 'ERR unknown command',
  lineTooLong: 'ERR line too long',
} as const;

export interface Command {
  /** The word before the first space (case-sensitive: `nick` is an unknown command). */
  readonly name: string;
  /** Everything after the first space; '' when there is none. */
  readonly rest: string;
}

export function parseCommand(line: string): Command {
  const space = line.indexOf(' ');
  return space < 0 ? { name: line, rest: '' } : { name: line.slice(0, space), rest: line.slice(space + 1) };
}

/** `MSG <#room> <text>` and `PRIV <nick> <text>`: a target word, then the rest of the line (may be empty). */
export function splitTarget(rest: string): { target: string; text: string } {
  const space = rest.indexOf(' ');
  return space < 0 ? { target: rest, text: '' } : { target: rest.slice(0, space), text: rest.slice(space + 1) };
}
