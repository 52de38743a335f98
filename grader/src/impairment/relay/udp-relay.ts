import dgram from 'node:dgram';
import { once } from 'node:events';
import type { Endpoint } from '../../endpoint.ts';
import type { DirectionName, LinkDirection, LinkSpec } from '../profile.ts';
import { LossModel, sampleDelayMs, seededRandom, type Uniform } from '../sampling.ts';

/**
 * Runs `action` at `deadline` (performance.now() time), never before: a timer armed from a
 * stale event-loop clock can fire early on a busy machine, so an early firing re-arms.
 */
function at(deadline: number, action: () => void): void {
  const remaining = deadline - performance.now();
  if (remaining <= 0) action();
  else setTimeout(() => at(deadline, action), Math.ceil(remaining));
}

/**
 * The longest a datagram may wait behind a rate limit before it is dropped: tbf's `latency
 * 100ms` as netkata-link sets it on Docker. Without a bound, a sender faster than the link
 * builds a queue of seconds, and its round trips grow with it, where a real link drops.
 */
export const RATE_QUEUE_MS = 100;

/** How long a client's mapping lives without traffic, as a NAT would keep it. */
const MAPPING_IDLE_MS = 60_000;

/** One direction of the datagram path: each datagram meets the profile on its own, as netem does it. */
class DatagramDirection {
  private loss: LossModel;
  /** When the last datagram finishes "transmitting" at the rate limit. */
  private transmitEnd = 0;

  constructor(
    private direction: LinkDirection,
    private readonly random: Uniform,
  ) {
    this.loss = new LossModel(direction, random);
  }

  set(direction: LinkDirection): void {
    this.direction = direction;
    this.loss = new LossModel(direction, this.random);
  }

  /** Schedules `send` for each copy that survives; a partition drops everything. */
  pass(datagram: Buffer, partitioned: boolean, send: (data: Buffer) => void): void {
    const d = this.direction;
    if (partitioned || this.loss.lose()) return;
    let data = datagram;
    if (this.random() * 100 < d.corruptPercent) {
      // UDP over loopback carries no checksum check here, so a corrupted datagram is simply lost,
      // as the receiver's checksum would make it on a real link.
      return;
    }
    const now = performance.now();
    let departure = now;
    if (d.rateKbit) {
      const start = Math.max(now, this.transmitEnd);
      if (start - now > RATE_QUEUE_MS) return; // the queue is full: tail drop
      departure = start + (data.length * 8) / d.rateKbit;
      this.transmitEnd = departure;
    }
    const copies = this.random() * 100 < d.duplicatePercent ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      // Reordered datagrams skip the delay and overtake the ones held back; jitter reorders too.
      const delay = this.random() * 100 < d.reorderPercent ? 0 : sampleDelayMs(d, this.random);
      const copy = data;
      at(departure + delay, () => send(copy));
      data = Buffer.from(data);
    }
  }
}

/**
 * The local runtime's link for UDP: a relay socket the tests send to, one upstream socket per
 * client address (so the submission sees distinct peers), and per-datagram loss, duplication,
 * reordering, delay, jitter and rate both ways.
 */
export class UdpRelay {
  private partitioned = false;
  private closed = false;
  private readonly directions: Record<DirectionName, DatagramDirection>;
  private readonly mappings = new Map<string, { socket: dgram.Socket; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly front: dgram.Socket,
    private readonly upstream: Endpoint,
    private current: LinkSpec,
    seed: number,
  ) {
    const random = seededRandom(seed);
    this.directions = { ingress: new DatagramDirection(current.ingress, random), egress: new DatagramDirection(current.egress, random) };
    front.on('message', (message, from) => this.fromClient(message, from));
  }

  static async start(upstream: Endpoint, link: LinkSpec, seed: number): Promise<UdpRelay> {
    const front = dgram.createSocket('udp4');
    front.bind(0, '127.0.0.1');
    await once(front, 'listening');
    return new UdpRelay(front, upstream, link, seed);
  }

  get endpoint(): Endpoint {
    return { host: '127.0.0.1', port: this.front.address().port };
  }

  get link(): LinkSpec {
    return this.current;
  }

  set(link: LinkSpec): void {
    this.current = link;
    this.directions.ingress.set(link.ingress);
    this.directions.egress.set(link.egress);
  }

  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
  }

  private fromClient(message: Buffer, from: dgram.RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    let mapping = this.mappings.get(key);
    if (!mapping) {
      const socket = dgram.createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (reply) =>
        this.directions.egress.pass(reply, this.partitioned, (data) => !this.closed && this.front.send(data, from.port, from.address)),
      );
      mapping = { socket, timer: setTimeout(() => this.forget(key), MAPPING_IDLE_MS) };
      this.mappings.set(key, mapping);
    }
    mapping.timer.refresh();
    const { socket } = mapping;
    this.directions.ingress.pass(message, this.partitioned, (data) => !this.closed && socket.send(data, this.upstream.port, this.upstream.host));
  }

  private forget(key: string): void {
    const mapping = this.mappings.get(key);
    if (!mapping) return;
    this.mappings.delete(key);
    clearTimeout(mapping.timer);
    mapping.socket.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.mappings.keys()]) this.forget(key);
    await new Promise<void>((resolve) => this.front.close(() => resolve()));
  }
}
