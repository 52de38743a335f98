import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import type { Endpoint } from '../runtime.ts';
import type { DockerEngine } from './engine.ts';
import { bridgeIsHere, defaultGateway, publishedHost } from './engine-location.ts';
import { LABEL_ROLE, runLabels } from './labels.ts';

const log = logger('docker');

const FORWARDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'edge-forwarder.cjs');
const BASE_PORT = 20_000;
const SLOTS = 16;

/** How tests reach containers: by address on the run network, or through the edge's published ports. */
export type EndpointMode = 'direct' | 'published';

/** What a worker needs to route its submission through the edge. Plain data: it crosses to the workers. */
export interface EdgeInfo {
  readonly containerId: string;
  /** The engine's host as this machine reaches it. */
  readonly host: string;
  /** Host port of each slot, by slot number. */
  readonly hostPorts: Readonly<Record<string, { readonly tcp: number; readonly udp: number }>>;
  /** The edge's address on the run network: where the submission sees the tests' connections come from. */
  readonly runAddress: string;
}

/**
 * Direct on a Linux engine on this machine (its bridges are routable from here); published for
 * a remote DOCKER_HOST or Docker Desktop, whose container addresses live in another machine or
 * VM, for a grader that is the engine's guest (a CI job's container with its socket: its
 * siblings' internal networks are not routable from it), and wherever
 * TESTCONTAINERS_HOST_OVERRIDE names the host.
 * NETKATA_ENDPOINTS=direct|published overrides.
 */
export async function chooseEndpointMode(engine: DockerEngine): Promise<EndpointMode> {
  const forced = process.env.NETKATA_ENDPOINTS;
  if (forced === 'direct' || forced === 'published') return forced;
  const dockerHost = process.env.DOCKER_HOST ?? '';
  if (dockerHost !== '' && !dockerHost.startsWith('unix://')) return 'published';
  if (process.platform !== 'linux' || process.env.TESTCONTAINERS_HOST_OVERRIDE || (await isGuest(engine))) return 'published';
  const info = (await engine.dockerode.info()) as { OperatingSystem?: string };
  return /Docker Desktop/i.test(String(info.OperatingSystem)) ? 'published' : 'direct';
}

/** The grader is the engine's guest (a CI job's container with its socket): the engine's bridge is not one of its interfaces. */
async function isGuest(engine: DockerEngine): Promise<boolean> {
  const bridge = (await engine.dockerode
    .getNetwork('bridge')
    .inspect()
    .catch(() => undefined)) as { Options?: Record<string, string> } | undefined;
  return bridgeIsHere(bridge ? (bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0') : undefined) === false;
}

/**
 * Starts the run's edge: on a normal bridge with SLOTS published TCP and UDP ports, and on the
 * run's internal network. Submissions and probes stay on the internal network only.
 */
export async function startEdge(engine: DockerEngine, runId: string, network: string, image: string): Promise<EdgeInfo> {
  const labels = { ...runLabels(runId), [LABEL_ROLE]: 'edge' };
  const edgeNetwork = `netkata-${runId}-edge`;
  log(`Starting the edge for published ports on ${edgeNetwork}...`);
  await engine.dockerode.createNetwork({ Name: edgeNetwork, Driver: 'bridge', CheckDuplicate: true, Labels: labels });
  const { host, bindIp } = await publishedHost(process.env, async () => defaultGateway(), await isGuest(engine));
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (let slot = 0; slot < SLOTS; slot++) {
    for (const protocol of ['tcp', 'udp']) {
      exposed[`${BASE_PORT + slot}/${protocol}`] = {};
      // Published on loopback only, unless the engine is another machine's (or a container's host).
      bindings[`${BASE_PORT + slot}/${protocol}`] = [{ HostIp: bindIp, HostPort: '' }];
    }
  }
  const container = await engine.dockerode.createContainer({
    Image: image,
    Cmd: ['node', '-e', await readFile(FORWARDER, 'utf8')],
    Env: [`EDGE_BASE_PORT=${BASE_PORT}`, `EDGE_SLOTS=${SLOTS}`],
    Labels: labels,
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: edgeNetwork,
      PortBindings: bindings,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      // Bounded so a submission flooding through its slot cannot take the machine: one node
      // process (about a dozen threads) forwarding, one CPU.
      NanoCpus: 1_000_000_000,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      PidsLimit: 64,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
    },
  });
  await engine.dockerode.getNetwork(network).connect({ Container: container.id });
  await container.start();
  for (let i = 0; ; i++) {
    if ((await engine.exec(container.id, ['cat', '/tmp/edge-ready'])).exitCode === 0) break;
    if (i > 100) throw new InfrastructureError('the edge container did not start within 10 s');
    await sleep(100);
  }
  const info = await container.inspect();
  const ports = info.NetworkSettings.Ports;
  const runAddress = info.NetworkSettings.Networks[network]?.IPAddress ?? '';
  const hostPorts: Record<string, { tcp: number; udp: number }> = {};
  for (let slot = 0; slot < SLOTS; slot++) {
    const port = (protocol: string) => Number(ports[`${BASE_PORT + slot}/${protocol}`]?.[0]?.HostPort);
    hostPorts[slot] = { tcp: port('tcp'), udp: port('udp') };
  }
  log(`Started the edge ${container.id.slice(0, 12)}`);
  return { containerId: container.id, host, hostPorts, runAddress };
}

/**
 * How long a connection through the edge must stay open to count as accepted: the edge accepts
 * every connection first and resets it right after if its target refuses.
 */
export const EDGE_SETTLE_MS = 300;

/** A slot of the edge forwarding to one target, until released. */
export interface EdgeSlot {
  readonly tcp: Endpoint;
  readonly udp: Endpoint;
  release(): Promise<void>;
}

/** Claims a free slot (mkdir is atomic, so parallel claimants never share one) and points it at `target`. */
export async function claimSlot(engine: DockerEngine, edge: EdgeInfo, target: Endpoint): Promise<EdgeSlot> {
  const script = `mkdir -p /tmp/claims; for n in $(seq 0 ${SLOTS - 1}); do if mkdir /tmp/claims/$n 2>/dev/null; then echo ${target.host}:${target.port} > /tmp/slots/$n; echo $n; exit 0; fi; done; exit 1`;
  const result = await engine.exec(edge.containerId, ['sh', '-c', script]);
  if (result.exitCode !== 0) throw new InfrastructureError(`no free slot on the edge (${SLOTS} in use): ${result.output}`);
  const slot = result.output.trim();
  const ports = edge.hostPorts[slot]!;
  return {
    tcp: { host: edge.host, port: ports.tcp },
    udp: { host: edge.host, port: ports.udp },
    release: async () => {
      await engine.exec(edge.containerId, ['sh', '-c', `rm -f /tmp/slots/${slot} && rmdir /tmp/claims/${slot}`]).catch(() => {});
    },
  };
}
