import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import { demultiplexLogs } from '../log-tail.ts';
import type { DockerEngine } from './engine.ts';
import type { PacketBackend } from './impair-sidecar.ts';
import { runLabels } from './labels.ts';

const log = logger('impair');

export interface BackendSupport {
  readonly netem: boolean;
  readonly nfqueue: boolean;
  /** What the probes printed when a backend is missing. */
  readonly details: Readonly<Record<'netem' | 'nfqueue', string>>;
  readonly kernel: string;
}

const CACHE_FILE = path.join(os.tmpdir(), 'netkata-backend-support.json');

/**
 * Asks the engine's kernel what it can do, in a throwaway container with its own network
 * namespace (no network at all) and NET_ADMIN: can it add a netem qdisc, an NFQUEUE rule?
 * Probed once per engine, kernel and sidecar image; the answer is cached on disk.
 */
export async function detectBackends(engine: DockerEngine, impairImage: string): Promise<BackendSupport> {
  const info = (await engine.dockerode.info()) as { ID?: string; KernelVersion?: string };
  // Bump the version when the probes change, so a cached answer to other questions is not reused.
  const key = `v2|${info.ID}|${info.KernelVersion}|${impairImage}`;
  const cache: Record<string, BackendSupport> = await readFile(CACHE_FILE, 'utf8').then(
    (text) => JSON.parse(text) as Record<string, BackendSupport>,
    () => ({}),
  );
  if (cache[key]) return cache[key];
  log(`Probing kernel ${info.KernelVersion} for netem and NFQUEUE...`);
  const [netem, nfqueue] = await Promise.all([
    // The netem backend also needs an ifb device to shape ingress; a kernel with netem but no
    // ifb gets the userspace engine instead of a half-impaired link.
    tryIn(engine, impairImage, 'tc qdisc add dev lo root netem delay 1ms && tc qdisc del dev lo root && ip link add nkifb type ifb && ip link del nkifb'),
    tryIn(
      engine,
      impairImage,
      'iptables -w -A OUTPUT -o lo -j NFQUEUE --queue-num 0 --queue-bypass && iptables -w -D OUTPUT -o lo -j NFQUEUE --queue-num 0 --queue-bypass',
    ),
  ]);
  const support: BackendSupport = {
    netem: netem.ok,
    nfqueue: nfqueue.ok,
    details: { netem: netem.output, nfqueue: nfqueue.output },
    kernel: info.KernelVersion ?? '',
  };
  await writeFile(CACHE_FILE, JSON.stringify({ ...cache, [key]: support })).catch(() => {});
  log(`Kernel ${support.kernel}: netem ${support.netem ? 'yes' : 'no'}, NFQUEUE ${support.nfqueue ? 'yes' : 'no'}`);
  return support;
}

async function tryIn(engine: DockerEngine, image: string, script: string): Promise<{ ok: boolean; output: string }> {
  const container = await engine.dockerode.createContainer({
    Image: image,
    Cmd: ['sh', '-c', script],
    Labels: { ...runLabels('detect'), 'netkata.role': 'detect' },
    HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], CapAdd: ['NET_ADMIN', 'NET_RAW'] },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = demultiplexLogs(await container.logs({ stdout: true, stderr: true }))
      .lines(5)
      .trim();
    return { ok: StatusCode === 0, output };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** `auto` takes netem where the kernel has it (per-packet, in-kernel) and the userspace engine otherwise. */
export function chooseBackend(choice: 'auto' | PacketBackend, support: BackendSupport): PacketBackend {
  if (choice === 'netem' && !support.netem)
    throw new InfrastructureError(`--impairment netem: this engine's kernel (${support.kernel}) has no netem: ${support.details.netem}`);
  if (choice === 'userspace' && !support.nfqueue)
    throw new InfrastructureError(`--impairment userspace: this engine's kernel (${support.kernel}) has no NFQUEUE: ${support.details.nfqueue}`);
  if (choice !== 'auto') return choice;
  if (support.netem) return 'netem';
  if (support.nfqueue) return 'userspace';
  throw new InfrastructureError(
    `this engine's kernel (${support.kernel}) has neither netem nor NFQUEUE, so no network impairment can run: ${support.details.netem}`,
  );
}
