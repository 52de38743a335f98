import type Dockerode from 'dockerode';
import type { StartedTestContainer } from 'testcontainers';
import { limitsSchema } from '../../catalog/manifest.ts';
import { InfrastructureError } from '../../errors.ts';
import type { LinkSpec } from '../../impairment/profile.ts';
import { logger } from '../../log.ts';
import type { RunContext } from '../context.ts';
import type { Endpoint } from '../runtime.ts';
import type { FileTree } from '../files.ts';
import { tcpProbe, waitForListening } from '../wait-for-port.ts';
import { DockerLink } from './docker-link.ts';
import { SandboxedContainer } from './docker-runtime.ts';
import type { DockerEngine } from './engine.ts';
import { LABEL_ROLE } from './labels.ts';
import { claimSlot, EDGE_SETTLE_MS, type EdgeSlot } from './edge.ts';
import { dockerodeOf, exitStatusOf, tailLogs } from './container-handle.ts';

const log = logger('peer');

/** Where a peer finds PeerSpec.files. */
const PEER_FILES_DIR = '/srv/peer';

/** A grader-owned host on the run network: a backend, a TLS server, anything a test needs beside the submission. */
export interface PeerSpec {
  /** Its DNS name on the run network, e.g. `backend-1` or `valid.zoo.test`. */
  readonly name: string;
  /** More names for the same container (a TLS zoo serves many host names). */
  readonly aliases?: readonly string[];
  /** Run in the grader's Node image, e.g. ['node', '/srv/peer/server.cjs'], or in `image`. */
  readonly command: readonly string[];
  /** One of the exercise's peerImages (`http-peer`) instead of the Node image. */
  readonly image?: string;
  /** Read-only files under /srv/peer. */
  readonly files?: FileTree;
  readonly env?: Readonly<Record<string, string>>;
  /** A TCP port to wait for before the peer counts as started. */
  readonly readyPort?: number;
  readonly memoryMb?: number;
}

type DockerContext = RunContext & { docker: NonNullable<RunContext['docker']> };

/**
 * A peer container: reachable by name from the submission and by address from the tests, and
 * at the tests' mercy: killed, paused (a hung host), restarted, its own link impaired.
 */
export class StartedPeer {
  private address: string;
  /** Where the tests reach readyPort when container addresses are out of their reach. */
  private slot: EdgeSlot | undefined;

  private constructor(
    readonly spec: PeerSpec,
    private readonly container: StartedTestContainer,
    private readonly engine: DockerEngine,
    private readonly context: DockerContext,
    readonly link: DockerLink,
  ) {
    this.address = container.getIpAddress(context.docker.network);
  }

  static async start(engine: DockerEngine, context: DockerContext, spec: PeerSpec, link: LinkSpec): Promise<StartedPeer> {
    const { docker } = context;
    log(`Starting peer ${spec.name}...`);
    let container: StartedTestContainer;
    try {
      const image = spec.image === undefined ? docker.runtimeImage : docker.peerImages?.[spec.image];
      if (!image) throw new InfrastructureError(`peer ${spec.name} runs in image ${spec.image}, which the exercise's manifest does not list in peerImages`);
      const builder = new SandboxedContainer(image)
        .withSandbox(limitsSchema.parse({ memoryMb: spec.memoryMb ?? 128, pids: 64 }))
        .withRunNetwork(docker.network, [spec.name, ...(spec.aliases ?? [])])
        .withLabels({ ...docker.labels, [LABEL_ROLE]: 'peer' })
        .withEnvironment({ ...spec.env })
        .withCommand([...spec.command])
        .withAutoRemove(false);
      if (spec.files) builder.withReadOnlyFiles(PEER_FILES_DIR, spec.files);
      container = await builder.start();
    } catch (error) {
      throw new InfrastructureError(`could not start peer ${spec.name}: ${(error as Error).message}`, { cause: error });
    }
    const peerLink = new DockerLink(
      {
        engine,
        targetId: container.getId(),
        backend: context.impairment.backend === 'netem' ? 'netem' : 'userspace',
        image: docker.impairImage,
        labels: docker.labels,
        seed: context.impairment.seed,
      },
      link,
    );
    const peer = new StartedPeer(spec, container, engine, context, peerLink);
    await peer.claimEdgeSlot();
    await peer.waitReady();
    await peerLink.init();
    log(`Started peer ${spec.name} at ${peer.address}`);
    return peer;
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * Where the tests reach one of its ports: its address on the run network, or through the
   * run's edge (remote engines, Docker Desktop), which forwards readyPort only.
   */
  endpoint(port: number): Endpoint {
    if (!this.context.docker.edge) return { host: this.address, port };
    if (port !== this.spec.readyPort || !this.slot) {
      throw new InfrastructureError(`peer ${this.spec.name}: through published ports only its readyPort (${this.spec.readyPort}) is reachable, not ${port}`);
    }
    return this.slot.tcp;
  }

  /** Points an edge slot at readyPort (again after a restart: the address may have changed). */
  private async claimEdgeSlot(): Promise<void> {
    const { edge } = this.context.docker;
    if (!edge || this.spec.readyPort === undefined) return;
    await this.slot?.release();
    this.slot = await claimSlot(this.engine, edge, { host: this.address, port: this.spec.readyPort });
  }

  private get dockerContainer(): Dockerode.Container {
    return dockerodeOf(this.container);
  }

  /** SIGKILL: gone at once, connections and all. The container stays, for restart(). */
  async kill(): Promise<void> {
    await this.dockerContainer.kill();
  }

  /** Frozen: its connections stay open and nothing answers (a hung host). */
  async pause(): Promise<void> {
    await this.dockerContainer.pause();
  }

  async unpause(): Promise<void> {
    await this.dockerContainer.unpause();
  }

  /** Starts a killed peer again, under the same name and address, and waits until it is ready. */
  async restart(): Promise<void> {
    await this.dockerContainer.start();
    const info = await this.dockerContainer.inspect();
    const address = info.NetworkSettings.Networks[this.context.docker.network]?.IPAddress;
    // The submission's /etc/hosts holds the first address (DockerRuntime.peerHosts); the engine
    // gives the lowest free one, which is ours unless another container took it meanwhile.
    if (address !== this.address) {
      throw new InfrastructureError(
        `peer ${this.spec.name} came back at ${address ?? 'no address'}, not ${this.address}, where the submission's hosts file points`,
      );
    }
    await this.claimEdgeSlot();
    await this.waitReady();
  }

  /**
   * Back to running and unpaused, whatever a test did to the process (the link is the
   * harness's to restore): a killed peer is started again, a paused one unpaused, and either is
   * waited for on readyPort. True if anything had to be done. A peer that cannot be brought back
   * is the grader's failure, never the submission's.
   */
  async restore(): Promise<boolean> {
    try {
      const { State } = await this.dockerContainer.inspect();
      if (State.Running && !State.Paused) return false;
      if (State.Paused) {
        await this.unpause();
        await this.waitReady();
      } else {
        await this.restart();
      }
      return true;
    } catch (error) {
      if (error instanceof InfrastructureError) throw error;
      throw new InfrastructureError(`could not restore peer ${this.spec.name}: ${(error as Error).message}`, { cause: error });
    }
  }

  logs(maxLines = 40): Promise<string> {
    return tailLogs(this.dockerContainer, maxLines);
  }

  /**
   * Runs a command inside the peer (a load generator's run), as the peer's user, and returns
   * its exit code and output (stdout and stderr, at most the last 64 KiB).
   */
  async exec(command: readonly string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InfrastructureError(`peer ${this.spec.name}: ${command[0]} did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result = await Promise.race([this.container.exec([...command]), timeout]);
      return { exitCode: result.exitCode, output: result.output.slice(-64 * 1024) };
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await this.slot?.release();
    await this.link.close();
    await this.container.stop({ timeout: 1_000, remove: true }).catch(() => {});
  }

  private async waitReady(): Promise<void> {
    if (this.spec.readyPort === undefined) return;
    await waitForListening({
      probe: tcpProbe(this.endpoint(this.spec.readyPort), this.spec.readyPort, this.slot ? EDGE_SETTLE_MS : 0),
      timeoutMs: 15_000,
      exitStatus: () => exitStatusOf(this.dockerContainer),
      logs: () => this.logs(),
    }).catch((error: Error) => {
      // The learner's server is not to blame for a grader-owned peer.
      throw new InfrastructureError(`peer ${this.spec.name}: ${error.message.replace(/^your server/, 'it')}`);
    });
  }
}
