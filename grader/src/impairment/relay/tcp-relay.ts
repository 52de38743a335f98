import net from 'node:net';
import { once } from 'node:events';
import { logger } from '../../log.ts';
import type { Endpoint } from '../../endpoint.ts';
import { dropProbability, isClean, type DirectionName, type LinkDirection, type LinkSpec } from '../profile.ts';
import { LossModel, sampleDelayMs, seededRandom, type Uniform } from '../sampling.ts';

const log = logger('relay');

/** Bytes a direction may hold before it stops reading its source: flow control reaches both ends. */
const HIGH_WATER_BYTES = 512 * 1024;
const LOW_WATER_BYTES = 128 * 1024;
/** A lost segment costs what a retransmission would: at least TCP's minimum RTO. */
const MIN_RTO_MS = 200;
const MAX_SEGMENT_BYTES = 1460;

type Item = { kind: 'data'; data: Buffer; releaseAt: number } | { kind: 'end' | 'reset'; releaseAt: number };

/**
 * What a byte stream can show of a bad network, between two sockets in one direction: delay
 * and jitter (never reordering: TCP hides it), rate, small segments, stalls where a segment
 * would have been lost and retransmitted, and holding everything during a partition.
 */
class StreamDirection {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private lastReleaseAt = 0;
  private lastTransmitEnd = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private loss: LossModel;
  private done = false;

  constructor(
    private readonly source: net.Socket,
    private readonly destination: net.Socket,
    private direction: LinkDirection,
    private readonly random: Uniform,
    private readonly relay: { partitioned: boolean },
  ) {
    this.loss = new LossModel(direction, random);
    source.on('data', (chunk: Buffer) => this.accept(chunk));
    source.on('end', () => this.push({ kind: 'end', releaseAt: this.nextRelease(0) }));
    source.on('error', () => this.push({ kind: 'reset', releaseAt: this.nextRelease(0) }));
    destination.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  setDirection(direction: LinkDirection): void {
    const wasBlocked = this.blocked;
    this.direction = direction;
    this.loss = new LossModel(direction, this.random);
    if (wasBlocked && !this.blocked) this.reschedule();
  }

  /** A partition, or a profile that loses everything: TCP would retransmit until it heals. */
  private get blocked(): boolean {
    return this.relay.partitioned || dropProbability(this.direction) >= 1;
  }

  /** After a partition heals, what was held leaves as if sent now. */
  reschedule(): void {
    this.lastReleaseAt = 0;
    this.lastTransmitEnd = 0;
    for (const item of this.queue) item.releaseAt = this.nextRelease(item.kind === 'data' ? item.data.length : 0);
    this.flush();
  }

  private accept(chunk: Buffer): void {
    const clean = isClean(this.direction);
    for (let offset = 0; offset < chunk.length;) {
      // Under impairment the peer sees the stream in segment-sized pieces, some tiny.
      const size = clean
        ? chunk.length
        : this.random() < 0.1
          ? 1 + Math.floor(this.random() * 16)
          : 536 + Math.floor(this.random() * (MAX_SEGMENT_BYTES - 535));
      const data = chunk.subarray(offset, offset + size);
      offset += data.length;
      this.push({ kind: 'data', data, releaseAt: this.nextRelease(data.length) });
    }
  }

  private nextRelease(bytes: number): number {
    const now = performance.now();
    const d = this.direction;
    let transmitEnd = now;
    if (d.rateKbit) {
      // kbit/s is bits per ms.
      transmitEnd = Math.max(now, this.lastTransmitEnd) + (bytes * 8) / d.rateKbit;
      this.lastTransmitEnd = transmitEnd;
    }
    let releaseAt = transmitEnd + sampleDelayMs(d, this.random);
    if (bytes > 0 && this.loss.lose()) releaseAt += Math.max(MIN_RTO_MS, 4 * d.delayMs);
    // A stream keeps its order: nothing leaves before what was sent ahead of it.
    releaseAt = Math.max(releaseAt, this.lastReleaseAt);
    this.lastReleaseAt = releaseAt;
    return releaseAt;
  }

  private push(item: Item): void {
    if (this.done) return;
    this.queue.push(item);
    if (item.kind === 'data') {
      this.queuedBytes += item.data.length;
      if (this.queuedBytes > HIGH_WATER_BYTES) this.source.pause();
    }
    this.flush();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.blocked || this.waitingForDrain) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.releaseAt <= now) {
      const item = this.queue.shift()!;
      if (item.kind !== 'data') {
        this.done = true;
        if (item.kind === 'end') this.destination.end();
        else this.destination.resetAndDestroy();
        return;
      }
      this.queuedBytes -= item.data.length;
      if (this.queuedBytes < LOW_WATER_BYTES && this.source.isPaused()) this.source.resume();
      if (!this.destination.write(item.data)) {
        this.waitingForDrain = true;
        return;
      }
    }
    if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), Math.max(0, this.queue[0]!.releaseAt - now));
  }

  close(): void {
    clearTimeout(this.timer);
    this.done = true;
  }
}

/**
 * The local runtime's impairment: a TCP relay in the grader process between the tests and the
 * submission. Client-to-submission is the submission's ingress, the way back its egress.
 */
export class TcpRelay {
  readonly state = { partitioned: false };
  private readonly paths = new Set<Record<DirectionName, StreamDirection>>();
  private readonly sockets = new Set<net.Socket>();
  private readonly random: Uniform;

  private constructor(
    private readonly server: net.Server,
    private readonly upstream: Endpoint,
    private current: LinkSpec,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    server.on('connection', (client) => this.relay(client));
  }

  static async start(upstream: Endpoint, link: LinkSpec, seed: number): Promise<TcpRelay> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const relay = new TcpRelay(server, upstream, link, seed);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    log(`Relaying 127.0.0.1:${relay.endpoint.port} -> ${upstream.host}:${upstream.port} under ${link.name}`);
    return relay;
  }

  get endpoint(): Endpoint {
    return { host: '127.0.0.1', port: (this.server.address() as net.AddressInfo).port };
  }

  get link(): LinkSpec {
    return this.current;
  }

  set(link: LinkSpec): void {
    this.current = link;
    for (const path of this.paths) {
      path.ingress.setDirection(link.ingress);
      path.egress.setDirection(link.egress);
    }
  }

  partition(): void {
    this.state.partitioned = true;
  }

  heal(): void {
    this.state.partitioned = false;
    for (const path of this.paths) {
      path.ingress.reschedule();
      path.egress.reschedule();
    }
  }

  private relay(client: net.Socket): void {
    const server = net.connect({ host: this.upstream.host, port: this.upstream.port, allowHalfOpen: true });
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
    }
    server.once('connect', () => client.resume());
    const path = {
      ingress: new StreamDirection(client, server, this.current.ingress, this.random, this.state),
      egress: new StreamDirection(server, client, this.current.egress, this.random, this.state),
    };
    this.paths.add(path);
    const forget = () => {
      if (client.destroyed && server.destroyed) {
        path.ingress.close();
        path.egress.close();
        this.paths.delete(path);
      }
    };
    client.on('close', forget);
    server.on('close', forget);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const path of this.paths) {
      path.ingress.close();
      path.egress.close();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
