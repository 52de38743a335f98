import type Dockerode from 'dockerode';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import type { Limits } from '../../catalog/manifest.ts';
import type { RunContext } from '../context.ts';
import { demultiplexBytes, demultiplexLogs } from '../log-tail.ts';
import { dockerodeOf, exitStatusOf, tailLogs } from './container-handle.ts';
import { claimSlot, EDGE_SETTLE_MS, type EdgeSlot } from './edge.ts';
import {
  CONTAINER_FILES_DIR,
  CONTAINER_PORT,
  CONTAINER_STATE_DIR,
  MAX_RUN_OUTPUT_BYTES,
  type Endpoint,
  type RunOptions,
  type RunResult,
  type ExitStatus,
  type ProcessStats,
  type StartedSubmission,
  type StartOptions,
  type SubmissionRuntime,
} from '../runtime.ts';
import { awaitListening, tcpProbe, udpProbe } from '../wait-for-port.ts';
import { Readable } from 'node:stream';
import { tarChunks } from './tar.ts';
import { filesDirOf, type FileTree } from '../files.ts';
import { allOrFirstError } from '../../settle.ts';
import { DockerLink } from './docker-link.ts';
import type { DockerEngine } from './engine.ts';
import { LABEL_ROLE } from './labels.ts';
import { PacketCapture } from './packet-capture.ts';

const log = logger('docker');

/** The submission's name on the run network. */
const SUBMISSION_HOST = 'submission';

/** The submission's user inside the container: not root, no entry in any privileged group. */
export const SANDBOX_USER = '1000:1000';
const SANDBOX_UID = 1000;

/** What a client's STATE_DIR may hold (a tmpfs: writing more fails with ENOSPC). Stated in tls-client's README. */
const STATE_DIR_BYTES = 16 * 1024 * 1024;

/**
 * A GenericContainer with the sandbox testcontainers has no builder methods for: read-only root,
 * pids limit, no swap, capped logs. The rest uses its builders.
 */
export class SandboxedContainer extends GenericContainer {
  withSandbox(limits: Limits): this {
    const memoryBytes = limits.memoryMb * 1024 * 1024;
    this.hostConfig.ReadonlyRootfs = true;
    // An init as PID 1 (tini) passes SIGTERM on: a process that is PID 1 itself ignores it
    // unless it installed a handler, and every stop would then wait out its timeout.
    this.hostConfig.Init = true;
    this.hostConfig.PidsLimit = limits.pids;
    this.hostConfig.Ulimits = [{ Name: 'nofile', Soft: limits.openFiles, Hard: limits.openFiles }];
    this.hostConfig.Memory = memoryBytes;
    this.hostConfig.MemorySwap = memoryBytes; // equal to Memory: no swap to hide a leak in
    this.hostConfig.NanoCpus = Math.round(limits.cpus * 1e9);
    // A log flood must not fill the engine's disk; we only ever read the tail.
    this.hostConfig.LogConfig = { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } };
    // No IPv6 at all: on an IPv4 network a container still has a link-local address, and through
    // it the bridge's, which IPv4 firewall rules never see.
    this.hostConfig.Sysctls = { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' };
    // Docker's embedded DNS still answers for the run's own names (peers, `submission`), but it
    // forwards other names to an upstream server; engines before 26.0 do that from the host's
    // namespace even on an internal network (CVE-2024-29018), a way out for data. A custom
    // upstream is asked from the container's own namespace instead: here, its loopback.
    this.hostConfig.Dns = ['127.0.0.1'];
    return this.withUser(SANDBOX_USER)
      .withDroppedCapabilities('ALL')
      .withSecurityOpt('no-new-privileges:true')
      .withTmpFs({ '/tmp': `rw,noexec,nosuid,nodev,size=${limits.tmpfsMb}m` });
  }

  /**
   * On the run network only, under `aliases` there. (testcontainers' withNetworkAliases would
   * create the container on the default bridge, which has a route out, and connect the run
   * network as a second interface, outside the impairment on eth0.)
   */
  withRunNetwork(network: string, aliases: readonly string[] = []): this {
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: [...aliases] } } };
    return this.withNetworkMode(network);
  }

  /**
   * `folder`, kept in the named `volume`: writable by the sandbox user because the volume's own
   * options give its root to that user (a tmpfs volume's uid, gid and mode; see withState).
   */
  withWritableFolder(volume: string, folder: string): this {
    this.hostConfig.Mounts = [...(this.hostConfig.Mounts ?? []), { Type: 'volume', Source: volume, Target: folder }];
    return this;
  }

  /**
   * Files at `directory`, owned by root and read-only to the sandbox user. The root file system
   * is read-only, so they go into an anonymous volume (removed with the container), copied in
   * through the archive endpoint before start: that works on a remote engine too.
   */
  withReadOnlyFiles(directory: string, files: FileTree): this {
    this.hostConfig.Mounts = [...(this.hostConfig.Mounts ?? []), { Type: 'volume', Source: '', Target: directory }];
    return this.withCopyArchivesToContainer([{ tar: Readable.from(tarChunks(files)), target: directory }]);
  }
}

export class DockerRuntime implements SubmissionRuntime {
  readonly kind = 'docker';

  constructor(
    private readonly engine: DockerEngine,
    private readonly context: RunContext & { docker: NonNullable<RunContext['docker']> },
  ) {}

  private get docker(): NonNullable<RunContext['docker']> {
    return this.context.docker;
  }

  async start(options: StartOptions): Promise<StartedSubmission> {
    log(`Starting submission container from ${this.docker.image}...`);
    let container: StartedTestContainer;
    try {
      // Peers (a TLS zoo, a load balancer's backends' checks) find it by this name.
      container = await this.submissionContainer('submission', options, [SUBMISSION_HOST])
        .withEnvironment({ PORT: String(CONTAINER_PORT) })
        .withExtraHosts(await this.peerHosts())
        .start();
    } catch (error) {
      throw new InfrastructureError(`could not start the submission container: ${(error as Error).message}`, { cause: error });
    }
    const { impairment } = this.context;
    const link = new DockerLink(
      {
        engine: this.engine,
        targetId: container.getId(),
        backend: impairment.backend === 'netem' ? 'netem' : 'userspace',
        image: this.docker.impairImage,
        labels: this.docker.labels,
        seed: impairment.seed,
      },
      impairment.link,
    );
    link.prepare();
    // The capture listens before readiness is probed, so a failed test's packets are all in it.
    const capturing = this.context.artifactsDir
      ? PacketCapture.start({ engine: this.engine, targetId: container.getId(), image: this.docker.impairImage, labels: this.docker.labels })
      : undefined;
    // Whatever happens next, a capture that started is stopped with the submission (or, failing that, with the run).
    capturing?.catch(() => {});
    let capture: PacketCapture | undefined;
    try {
      capture = await capturing;
    } catch (error) {
      await allOrFirstError([link.close(), container.stop({ timeout: 0, remove: true })]).catch(() => {});
      throw error;
    }
    const address = { host: container.getIpAddress(this.docker.network), port: CONTAINER_PORT };
    const slot = this.docker.edge ? await claimSlot(this.engine, this.docker.edge, address) : undefined;
    const udp = this.context.exercise.transport === 'udp';
    const started = new StartedDockerSubmission(container, (udp ? slot?.udp : slot?.tcp) ?? address, link, slot, capture);
    // Readiness is checked before the profile is in force (the sidecar may be attaching, passing
    // every packet): a slow or lossy link must not be blamed on the server.
    const probe = udp
      ? udpProbe(CONTAINER_PORT, () => this.socketTables(container.getId(), 'udp'))
      : tcpProbe(started.endpoint, CONTAINER_PORT, slot ? EDGE_SETTLE_MS : 0, () => this.socketTables(container.getId(), 'tcp'));
    await awaitListening(started, probe, options.limits.startupTimeoutMs, options.limits.memoryMb);
    try {
      await link.init();
    } catch (error) {
      await started.stop();
      throw new InfrastructureError((error as Error).message, { cause: error });
    }
    log(`Started ${container.getId().slice(0, 12)} at ${started.endpoint.host}:${CONTAINER_PORT} under ${impairment.link.name} (${link.backend})`);
    return started;
  }

  async run(options: RunOptions): Promise<RunResult> {
    const builder = this.submissionContainer('client', options).withCommand([...options.args]);
    if (options.state) await this.withState(builder, options.state);
    const startedAt = performance.now();
    let container: StartedTestContainer;
    try {
      container = await builder.start();
    } catch (error) {
      throw new InfrastructureError(`could not start the submission container: ${(error as Error).message}`, { cause: error });
    }
    const handle = dockerodeOf(container);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      handle.kill().catch(() => {});
    }, options.timeoutMs);
    try {
      await handle.wait();
      const durationMs = performance.now() - startedAt;
      const info = await handle.inspect();
      const output = async (stream: 'stdout' | 'stderr') =>
        demultiplexBytes(await handle.logs({ stdout: stream === 'stdout', stderr: stream === 'stderr', follow: false }), MAX_RUN_OUTPUT_BYTES);
      return {
        exitCode: timedOut || info.State.OOMKilled ? null : info.State.ExitCode,
        timedOut,
        oomKilled: info.State.OOMKilled,
        stdout: await output('stdout'),
        stderr: await output('stderr'),
        durationMs,
      };
    } finally {
      clearTimeout(timer);
      await container.stop({ timeout: 0, remove: true }).catch(() => {});
    }
  }

  /**
   * The names of the peers already running, each with its address, for the submission's
   * /etc/hosts: a killed peer's name then still resolves (at once) and the submission sees a dead
   * host. Through Docker's DNS alone a name no running container holds is forwarded upstream
   * (Dns is 127.0.0.1, withSandbox) and fails only after 10 s. A restarted peer keeps its address
   * (StartedPeer.restart checks that).
   */
  private async peerHosts(): Promise<{ host: string; ipAddress: string }[]> {
    const { dockerode } = this.engine;
    const label = Object.entries({ ...this.docker.labels, [LABEL_ROLE]: 'peer' }).map(([key, value]) => `${key}=${value}`);
    const peers = await dockerode.listContainers({ filters: { label, network: [this.docker.network] } });
    const hosts = await Promise.all(
      peers.map(async ({ Id }) => {
        const endpoint = (await dockerode.getContainer(Id).inspect()).NetworkSettings.Networks[this.docker.network] as
          { Aliases?: string[] | null; IPAddress?: string } | undefined;
        // Aliases hold the peer's names and, from the engine, its short id: not a name of ours.
        const names = (endpoint?.Aliases ?? []).filter((alias) => !Id.startsWith(alias));
        const ipAddress = endpoint?.IPAddress;
        return ipAddress ? names.map((host) => ({ host, ipAddress })) : [];
      }),
    );
    return hosts.flat();
  }

  /** The submission's image, sandboxed on the run network, with its environment and read-only files. */
  private submissionContainer(role: 'submission' | 'client', options: StartOptions, aliases: readonly string[] = []): SandboxedContainer {
    const builder = new SandboxedContainer(this.docker.image)
      .withSandbox(options.limits)
      .withRunNetwork(this.docker.network, aliases)
      .withLabels({ ...this.docker.labels, [LABEL_ROLE]: role })
      .withEnvironment({ ...options.env, ...(options.files && { FILES_DIR: filesDirOf(CONTAINER_FILES_DIR, options.filesRoot) }) })
      .withAutoRemove(false);
    return options.files ? builder.withReadOnlyFiles(CONTAINER_FILES_DIR, options.files) : builder;
  }

  /**
   * The state folder lives in a tmpfs volume of STATE_DIR_BYTES, so a run that writes more gets
   * ENOSPC instead of filling the engine's disk. A tmpfs volume is unmounted (and emptied) when
   * the last container using it stops, and the state must outlive each run: a keeper, a sleeping
   * container with no network, holds it mounted from the first run of a test to dropState.
   * Volume and keeper carry the run's labels, so removeRun (and a sweep) take them too.
   */
  private async withState(builder: SandboxedContainer, state: string): Promise<void> {
    const volume = this.stateVolume(state);
    await this.keepStateVolume(volume);
    builder.withWritableFolder(volume, CONTAINER_STATE_DIR).withEnvironment({ STATE_DIR: CONTAINER_STATE_DIR });
  }

  private async keepStateVolume(volume: string): Promise<void> {
    const { dockerode } = this.engine;
    const keeper = dockerode.getContainer(`${volume}-keeper`);
    const kept = await keeper.inspect().catch(() => undefined);
    if (kept?.State.Running) return;
    // A keeper that stopped took the state with it: a later run would fail for want of what an
    // earlier one saved, and the learner would be blamed.
    if (kept) throw new InfrastructureError(`the keeper of the state folder ${volume} stopped (${kept.State.Status}); the state of earlier runs is lost`);
    try {
      await dockerode.createVolume({
        Name: volume,
        Driver: 'local',
        DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${STATE_DIR_BYTES},uid=${SANDBOX_UID},gid=${SANDBOX_UID},mode=0700` },
        Labels: { ...this.docker.labels },
      });
      const container = await dockerode.createContainer({
        name: `${volume}-keeper`,
        // The impairment image: the grader's own, already built, and its command is `sleep infinity`.
        Image: this.docker.impairImage,
        Cmd: ['sleep', 'infinity'],
        User: SANDBOX_USER,
        Labels: { ...this.docker.labels, [LABEL_ROLE]: 'state-keeper' },
        HostConfig: {
          NetworkMode: 'none',
          ReadonlyRootfs: true,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges:true'],
          PidsLimit: 8,
          Memory: 16 * 1024 * 1024,
          MemorySwap: 16 * 1024 * 1024,
          NanoCpus: 100_000_000,
          Mounts: [{ Type: 'volume', Source: volume, Target: '/state', ReadOnly: true }],
        },
      });
      await container.start();
    } catch (error) {
      // Two runs of one test may race to create it: the winner's keeper serves both.
      if ((error as { statusCode?: number }).statusCode === 409 && (await keeper.inspect().catch(() => undefined))?.State.Running) return;
      throw new InfrastructureError(`could not keep the state folder ${volume}: ${(error as Error).message}`, { cause: error });
    }
  }

  private stateVolume(state: string): string {
    return `netkata-${this.context.runId}-state-${state.replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
  }

  stateDir(): string {
    return CONTAINER_STATE_DIR;
  }

  /** The keeper first: a volume in use cannot be removed. */
  async dropState(state: string): Promise<void> {
    const volume = this.stateVolume(state);
    await this.engine.dockerode
      .getContainer(`${volume}-keeper`)
      .remove({ force: true, v: true })
      .catch(() => {});
    await this.engine.dockerode
      .getVolume(volume)
      .remove()
      .catch(() => {});
  }

  /** The socket tables of the submission's network namespace, read from inside its container. */
  private async socketTables(containerId: string, protocol: 'tcp' | 'udp'): Promise<string> {
    const { exitCode, output } = await this.engine.exec(containerId, ['cat', `/proc/net/${protocol}`, `/proc/net/${protocol}6`], 5_000);
    // One of the two may be missing (no IPv6); what was read still counts.
    return exitCode === 0 || output.includes('local_address') ? output : '';
  }
}

class StartedDockerSubmission implements StartedSubmission {
  private stopped: Promise<void> | undefined;
  private finalLogs: string | undefined;

  constructor(
    private readonly container: StartedTestContainer,
    /** The container's address on the run network (no proxy in the path), or its edge slot. */
    readonly endpoint: Endpoint,
    readonly link: DockerLink,
    private readonly slot: EdgeSlot | undefined,
    readonly capture: PacketCapture | undefined,
  ) {}

  private get dockerContainer(): Dockerode.Container {
    return dockerodeOf(this.container);
  }

  async logs(maxLines = 40): Promise<string> {
    return this.finalLogs ?? tailLogs(this.dockerContainer, maxLines);
  }

  async output(maxBytes: number): Promise<Buffer> {
    if (this.finalLogs !== undefined) return Buffer.from(this.finalLogs);
    // The engine keeps at most 1 MB of it (withSandbox's log options).
    const raw = await this.dockerContainer.logs({ stdout: true, stderr: true, follow: false });
    return demultiplexLogs(raw, maxBytes).bytes();
  }

  exitStatus(): Promise<ExitStatus | undefined> {
    return exitStatusOf(this.dockerContainer);
  }

  /** To the init, which passes it on to the submission's process. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    await this.dockerContainer.kill({ signal });
  }

  async processStats(): Promise<ProcessStats | undefined> {
    if (this.stopped) return undefined;
    // one-shot: a single sample (about 20 ms) instead of two a second apart.
    const stats = await this.dockerContainer.stats({ stream: false, 'one-shot': true } as { stream: false });
    const tasks = stats.pids_stats?.current;
    if (!tasks) return undefined; // not running any more
    // The container's tasks less the init we run as PID 1 (withSandbox), which has one thread.
    const threads = tasks - 1;
    const memory = stats.memory_stats;
    // cgroup v1 reports rss, v2 anon; usage alone would count the page cache too.
    const detail = memory.stats as unknown as Record<string, number | undefined>;
    const memoryBytes = detail['total_rss'] ?? detail['rss'] ?? detail['anon'] ?? memory.usage;
    return { threads, memoryBytes, peakMemoryBytes: memory.max_usage || undefined };
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.finalLogs = await this.logs();
      // The sidecar and the submission go together: each is removed whatever the other does,
      // and the stop ends only once all of them have (the next file may start right after).
      await allOrFirstError([
        this.link.close(),
        this.slot?.release(),
        this.capture?.stop(),
        // A submission that already exited (a test asked it to) is removed all the same.
        this.container.stop({ timeout: 2_000, remove: true }).catch(() => this.dockerContainer.remove({ force: true, v: true }).catch(() => {})),
      ]);
    })();
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
