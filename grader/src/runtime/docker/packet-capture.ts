import { setTimeout as sleep } from 'node:timers/promises';
import * as tar from 'tar-stream';
import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import { cutPcap } from '../../pcap.ts';
import { demultiplexLogs } from '../log-tail.ts';
import type { DockerEngine } from './engine.ts';
import { LABEL_ROLE } from './labels.ts';

const log = logger('capture');

/** tcpdump's ring: this many files of FILE_MEGABYTES million bytes each, the oldest overwritten. */
const RING_FILES = 4;
const FILE_MEGABYTES = 4;
/** The capture's folder is a tmpfs of this size: a second bound, should tcpdump overshoot its ring. */
const TMPFS_BYTES = 24 * 1024 * 1024;
/** A frame longer than this (a GSO/GRO super-packet can reach 64 KiB) is cut; its length is kept. */
const SNAP_LENGTH_BYTES = 65_535;
/**
 * The kernel's ring for tcpdump's socket, in KiB. A test's burst arrives as 64 KiB GSO/GRO
 * super-packets at memory speed; with libpcap's default 2 MiB, a tcpdump that waited for the CPU
 * a moment lost whole ones of them (the capture had holes of 65 KB mid-stream).
 */
const SOCKET_BUFFER_KIB = 32 * 1024;
/**
 * How long a packet of the test's end takes to reach tcpdump's file. Not immediate mode: libpcap
 * then falls back to TPACKET_V2, whose ring has a slot of the snap length for every packet, ACKs
 * too, and a test's burst overflowed it (hundreds of packets dropped by the kernel). TPACKET_V3
 * packs packets into blocks the kernel hands over when full or after tcpdump's 1 s timeout.
 */
const SETTLE_MS = 1_300;

export interface CaptureOptions {
  readonly engine: DockerEngine;
  /** The container whose network namespace (its eth0) is captured. */
  readonly targetId: string;
  /** The impairment image, which has tcpdump. */
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A packet capture of a submission's eth0 for `grade --artifacts`: tcpdump in a container of its
 * own in the submission's network namespace (the learner's container never has NET_RAW), running
 * for the submission's whole life, from which each failed test's packets are cut by its time.
 *
 * One capture per submission rather than one per test: starting tcpdump and waiting for it to
 * listen costs a few hundred ms, which every test would pay, and a capture started per test could
 * miss a test's first packets; cutting by time costs only the tests that fail. A container of its
 * own rather than the impairment sidecar: that one exists only on an impaired link and is
 * attached lazily, and its single CPU is the userspace engine's, whose lateness the link's
 * integrity check counts against the run. Sharing the namespace, it sees the same eth0:
 * outgoing packets after the impairment, incoming ones before it.
 *
 * Bounded: a ring of RING_FILES files of FILE_MEGABYTES, on a tmpfs of TMPFS_BYTES, so a
 * submission flooding its link overwrites the oldest packets and fills no disk. tcpdump drops to
 * its own user once it has its socket (hence SETUID and SETGID, and nothing else but NET_RAW).
 */
export class PacketCapture {
  private constructor(
    private readonly options: CaptureOptions,
    readonly id: string,
  ) {}

  /** Returns once tcpdump is listening: packets from then on are in the capture. */
  static async start(options: CaptureOptions, timeoutMs = 10_000): Promise<PacketCapture> {
    const { engine, targetId } = options;
    log(`Starting a packet capture of ${targetId.slice(0, 12)}...`);
    let id: string;
    try {
      const container = await engine.dockerode.createContainer({
        Image: options.image,
        Cmd: [
          'tcpdump',
          ...['-i', 'eth0', '-p', '-n', '-U'],
          ...['-s', String(SNAP_LENGTH_BYTES), '-B', String(SOCKET_BUFFER_KIB), '-C', String(FILE_MEGABYTES), '-W', String(RING_FILES)],
          ...['-w', '/capture/cap.pcap'],
        ],
        Labels: { ...options.labels, [LABEL_ROLE]: 'capture' },
        HostConfig: {
          NetworkMode: `container:${targetId}`,
          CapDrop: ['ALL'],
          CapAdd: ['NET_RAW', 'SETUID', 'SETGID'],
          SecurityOpt: ['no-new-privileges:true'],
          ReadonlyRootfs: true,
          Tmpfs: { '/capture': `rw,noexec,nosuid,nodev,size=${TMPFS_BYTES},mode=1777` },
          NanoCpus: 1_000_000_000,
          // Its socket's ring and the tmpfs count here too.
          Memory: 128 * 1024 * 1024,
          MemorySwap: 128 * 1024 * 1024,
          PidsLimit: 16,
          LogConfig: { Type: 'json-file', Config: { 'max-size': '64k', 'max-file': '1' } },
        },
      });
      id = container.id;
      await container.start();
    } catch (error) {
      throw new InfrastructureError(`could not start the packet capture: ${(error as Error).message}`, { cause: error });
    }
    const capture = new PacketCapture(options, id);
    await capture.waitForListening(timeoutMs);
    log(`Started packet capture ${id.slice(0, 12)}`);
    return capture;
  }

  /**
   * The packets stamped from `fromMs` to `toMs` (epoch ms; the engine's clock, which is this
   * machine's on a local engine), as one classic pcap file, and how many packets the kernel
   * dropped before tcpdump read them since the capture began (so a hole in it is said).
   */
  async cut(fromMs: number, toMs: number): Promise<{ pcap: Buffer; droppedPackets: number }> {
    const container = this.options.engine.dockerode.getContainer(this.id);
    // On SIGUSR1 tcpdump prints its counters to stderr ("N packets dropped by kernel").
    await container.kill({ signal: 'SIGUSR1' });
    await sleep(SETTLE_MS);
    // tar exits 1 when a file grew while it read it (tcpdump still writes): the entry then has the
    // size tar first saw, and a record cut short at its end is left out by readPcap.
    const archive = await this.options.engine.execBytes(this.id, ['sh', '-c', 'tar -C /capture -cf - .; test $? -le 1'], TMPFS_BYTES + 1024 * 1024);
    const files = await untarFiles(archive);
    const pcap = cutPcap(files, fromMs, toMs);
    if (!pcap) throw new InfrastructureError(`the packet capture holds no readable pcap file (${files.length} files)`);
    const said = demultiplexLogs(await container.logs({ stdout: true, stderr: true, follow: false, tail: 20 })).lines(20);
    const counts = [...said.matchAll(/(\d+) packets? dropped by kernel/g)];
    const last = counts.at(-1);
    if (!last) throw new InfrastructureError(`the packet capture did not report its counters: ${said.trim().slice(-300)}`);
    return { pcap, droppedPackets: Number(last[1]) };
  }

  async stop(): Promise<void> {
    await this.options.engine.dockerode
      .getContainer(this.id)
      .remove({ force: true, v: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
  }

  /** tcpdump says "listening on eth0" on stderr once its socket is bound. */
  private async waitForListening(timeoutMs: number): Promise<void> {
    const container = this.options.engine.dockerode.getContainer(this.id);
    const deadline = Date.now() + timeoutMs;
    let said = '';
    while (Date.now() < deadline) {
      const raw = await container.logs({ stdout: true, stderr: true, follow: false }).catch(() => Buffer.alloc(0));
      said = demultiplexLogs(raw).lines(10);
      if (/listening on eth0/.test(said)) return;
      const info = await container.inspect().catch(() => undefined);
      if (info && !info.State.Running) break;
      await sleep(50);
    }
    await this.stop().catch(() => {});
    throw new InfrastructureError(`the packet capture did not start listening within ${timeoutMs} ms: ${said.trim().slice(0, 300)}`);
  }
}

/** The regular files of a tar archive, in the archive's order. */
async function untarFiles(archive: Buffer): Promise<Buffer[]> {
  const extract = tar.extract();
  const files: Buffer[] = [];
  // tar-stream's streams are streamx streams, not Node's: their end is an event.
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
    stream.on('end', () => {
      if (header.type === 'file') files.push(Buffer.concat(chunks));
      next();
    });
    stream.resume();
  });
  extract.end(archive);
  await done;
  return files;
}
