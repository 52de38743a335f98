// The chat server: nicks, rooms, fan-out, departures, heartbeat and slow consumers, on plain
// node:net. The wire vocabulary is in protocol.ts.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Err, isNick, isRoom, MAX_LINE_BYTES, parseCommand, splitTarget } from './protocol.ts';

export interface ChatConfig {
  /** A client silent this long gets `PING <token>`. */
  readonly pingIntervalMs: number;
  /** ...and is dropped if `PONG <token>` does not come back within this. */
  readonly pingTimeoutMs: number;
  /** A client with more than this many bytes waiting in the server for it is dropped. */
  readonly maxQueueBytes: number;
}

export const DEFAULT_CONFIG: ChatConfig = { pingIntervalMs: 15_000, pingTimeoutMs: 10_000, maxQueueBytes: 1024 * 1024 };

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ChatConfig {
  const positive = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(env[name])}`);
    return value;
  };
  return {
    pingIntervalMs: positive('PING_INTERVAL_MS', DEFAULT_CONFIG.pingIntervalMs),
    pingTimeoutMs: positive('PING_TIMEOUT_MS', DEFAULT_CONFIG.pingTimeoutMs),
    maxQueueBytes: positive('MAX_QUEUE_BYTES', DEFAULT_CONFIG.maxQueueBytes),
  };
}

export class Room {
  readonly members = new Set<Client>();
  constructor(readonly name: string) {}
}

/** One connection and what the server knows about it. */
export class Client {
  nick: string | undefined;
  readonly rooms = new Set<Room>();
  /** Set once, when the client leaves for any reason: nothing is sent to it or announced after. */
  gone = false;
  /** Bytes received after the last `\n`. */
  pending: Buffer = Buffer.alloc(0);
  /** The token of the PING waiting for its PONG. */
  pingToken: string | undefined;
  silenceTimer: NodeJS.Timeout | undefined;
  pongTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly maxQueueBytes: number,
    private readonly onOverflow: (client: Client) => void,
  ) {}

  /**
   * Writes one line. Never waits: socket.write() queues what the kernel cannot take yet, and
   * socket.writableLength is that queue (kernel buffers not included). Past the limit the
   * client is dropped, so one reader that stopped reading never holds up anyone else.
   */
  send(line: string): void {
    if (this.gone) return;
    this.socket.write(`${line}\n`);
    if (this.socket.writableLength > this.maxQueueBytes) this.onOverflow(this);
  }
}

/** Everyone who shares a room with `client`, each once (a Set: two shared rooms, one QUIT). */
export function roomMates(client: Client): Set<Client> {
  const mates = new Set<Client>();
  for (const room of client.rooms) for (const member of room.members) if (member !== client) mates.add(member);
  return mates;
}

export interface ChatServerOptions extends Partial<ChatConfig> {
  /** Ping silent clients and drop those that do not answer (default true). */
  readonly heartbeat?: boolean;
  /** How a line reaches a client other than the one whose command caused it (default: `to.send(line)`). */
  readonly deliver?: (to: Client, line: string, from: Client) => void;
  /** Who hears `QUIT <nick>` when a client leaves (default: `roomMates`). */
  readonly quitAudience?: (leaving: Client) => Iterable<Client>;
}

/**
 * The server. Node runs every handler below on one thread, one at a time: a MSG is written to
 * all members of its room before the next line (from anyone) is looked at, so every member
 * sees a room's messages in one and the same order, and each sender's in the order sent,
 * without a lock or a sequence number.
 */
export function createChatServer(options: ChatServerOptions = {}): net.Server {
  const config: ChatConfig = { ...DEFAULT_CONFIG, ...options };
  const heartbeat = options.heartbeat ?? true;
  const deliver = options.deliver ?? ((to: Client, line: string) => to.send(line));
  const quitAudience = options.quitAudience ?? roomMates;
  const nicks = new Map<string, Client>();
  const rooms = new Map<string, Room>();

  /**
   * The one way out, whatever the cause (QUIT, reset, EOF, line too long, heartbeat, slow
   * consumer): idempotent, so a socket's 'end' and 'close' both arriving announce it once.
   */
  function depart(client: Client): void {
    if (client.gone) return;
    client.gone = true;
    clearTimeout(client.silenceTimer);
    clearTimeout(client.pongTimer);
    if (client.nick !== undefined) {
      for (const mate of quitAudience(client)) deliver(mate, `QUIT ${client.nick}`, client);
      nicks.delete(client.nick);
    }
    for (const room of client.rooms) leaveRoom(client, room);
    client.rooms.clear();
  }

  function leaveRoom(client: Client, room: Room): void {
    room.members.delete(client);
    client.rooms.delete(room);
    if (room.members.size === 0) rooms.delete(room.name);
  }

  /** Drop: destroy (unsent lines are discarded, as they would be on a reset) and announce. */
  function drop(client: Client, reason: string): void {
    if (client.gone) return;
    console.log(`dropping ${client.nick ?? 'a client without a nick'}: ${reason}`);
    depart(client);
    client.socket.destroy();
  }

  function armHeartbeat(client: Client): void {
    if (!heartbeat) return;
    client.silenceTimer = setTimeout(() => {
      client.pingToken = randomBytes(6).toString('hex');
      client.send(`PING ${client.pingToken}`);
      client.pongTimer = setTimeout(() => drop(client, `no PONG within ${config.pingTimeoutMs} ms`), config.pingTimeoutMs);
    }, config.pingIntervalMs);
  }

  /** A line arrived: the client is not silent. While a PING is out, only its PONG answers it. */
  function heard(client: Client): void {
    if (client.pingToken === undefined) client.silenceTimer?.refresh();
  }

  function pong(client: Client, token: string): void {
    if (client.pingToken === undefined || token !== client.pingToken) return;
    client.pingToken = undefined;
    clearTimeout(client.pongTimer);
    client.silenceTimer?.refresh();
  }

  function handle(client: Client, line: string): void {
    heard(client);
    const { name, rest } = parseCommand(line);
    switch (name) {
      case 'PONG':
        return pong(client, rest);
      case 'QUIT':
        client.send('BYE');
        depart(client);
        client.socket.end();
        return;
      case 'NICK':
        return nick(client, rest);
      case 'JOIN':
      case 'PART':
      case 'MSG':
      case 'PRIV':
      case 'WHO':
        if (client.nick === undefined) return client.send(Err.noNick);
        return command(client, client.nick, name, rest);
      default:
        return client.send(Err.unknownCommand);
    }
  }

  function nick(client: Client, name: string): void {
    if (!isNick(name)) return client.send(Err.badNick);
    const holder = nicks.get(name);
    if (holder && holder !== client) return client.send(Err.nickTaken);
    // A rename tells nobody; from now on every line about this client carries the new nick.
    if (client.nick !== undefined) nicks.delete(client.nick);
    client.nick = name;
    nicks.set(name, client);
    client.send('OK');
  }

  function command(client: Client, me: string, name: 'JOIN' | 'PART' | 'MSG' | 'PRIV' | 'WHO', rest: string): void {
    // The reply is written before the lines the command causes, so a PRIV to yourself reads OK, then PRIV.
    switch (name) {
      case 'JOIN': {
        if (!isRoom(rest)) return client.send(Err.badRoom);
        let room = rooms.get(rest);
        if (!room) rooms.set(rest, (room = new Room(rest)));
        client.send('OK');
        if (client.rooms.has(room)) return; // joining again changes nothing and tells nobody
        for (const member of room.members) deliver(member, `JOINED ${room.name} ${me}`, client);
        room.members.add(client);
        client.rooms.add(room);
        return;
      }
      case 'PART': {
        if (!isRoom(rest)) return client.send(Err.badRoom);
        const room = rooms.get(rest);
        if (!room || !client.rooms.has(room)) return client.send(Err.notInRoom);
        client.send('OK');
        leaveRoom(client, room);
        for (const member of room.members) deliver(member, `PARTED ${room.name} ${me}`, client);
        return;
      }
      case 'MSG': {
        const { target, text } = splitTarget(rest);
        if (!isRoom(target)) return client.send(Err.badRoom);
        const room = rooms.get(target);
        if (!room || !client.rooms.has(room)) return client.send(Err.notInRoom);
        client.send('OK');
        // Every other member, right now, in one loop: this is what makes the order one order.
        for (const member of room.members) if (member !== client) deliver(member, `MSG ${room.name} ${me} ${text}`, client);
        return;
      }
      case 'PRIV': {
        const { target, text } = splitTarget(rest);
        const to = nicks.get(target);
        if (!to) return client.send(Err.noSuchNick);
        client.send('OK');
        deliver(to, `PRIV ${me} ${text}`, client);
        return;
      }
      case 'WHO': {
        if (!isRoom(rest)) return client.send(Err.badRoom);
        // Nicks are ASCII, so the default sort (UTF-16 code units) is byte order.
        const names = [...(rooms.get(rest)?.members ?? [])].map((m) => m.nick!).sort();
        return client.send([`WHO ${rest}`, ...names].join(' '));
      }
    }
  }

  function lineTooLong(client: Client): void {
    client.send(Err.lineTooLong);
    console.log(`dropping ${client.nick ?? 'a client without a nick'}: line over ${MAX_LINE_BYTES} bytes`);
    depart(client);
    // end() rather than destroy(), so the ERR line is not lost to a reset; a client that keeps
    // sending regardless is cut off a moment later.
    client.socket.end();
    setTimeout(() => client.socket.destroy(), 2_000).unref();
  }

  return net.createServer((socket) => {
    // Chat lines are small and interactive: send each at once rather than batching (Nagle).
    socket.setNoDelay(true);
    const client = new Client(socket, config.maxQueueBytes, (c) => drop(c, `more than ${config.maxQueueBytes} bytes queued for it`));
    armHeartbeat(client);

    socket.on('data', (chunk: Buffer) => {
      if (client.gone) return;
      // Lines are split on the byte 0x0a, never per 'data' event, and measured in bytes.
      const buffer = client.pending.length > 0 ? Buffer.concat([client.pending, chunk]) : chunk;
      let start = 0;
      for (;;) {
        const newline = buffer.indexOf(0x0a, start);
        if (newline < 0) break;
        if (newline - start > MAX_LINE_BYTES) return lineTooLong(client);
        const end = newline > start && buffer[newline - 1] === 0x0d ? newline - 1 : newline;
        handle(client, buffer.toString('utf8', start, end));
        if (client.gone) return;
        start = newline + 1;
      }
      // Too long is known as soon as 4,097 bytes are here without a newline: do not wait for one.
      if (buffer.length - start > MAX_LINE_BYTES) return lineTooLong(client);
      // Copy the tail, so a few bytes do not keep a whole 64 KiB chunk alive.
      client.pending = start === buffer.length ? Buffer.alloc(0) : Buffer.from(buffer.subarray(start));
    });
    // EOF, a reset, or our own destroy(): whichever comes first announces the departure.
    socket.on('end', () => depart(client));
    socket.on('close', () => depart(client));
    socket.on('error', () => {}); // 'close' follows
  });
}
