import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { InfrastructureError, RuntimeUnavailableError } from '../../errors.ts';
import { logger } from '../../log.ts';
import { LogTail } from '../log-tail.ts';
import { dockerContextHost } from './engine-location.ts';
import { LABEL_MANAGED, LABEL_RUN, ownerState, runLabels } from './labels.ts';
import { tarOf } from './tar.ts';

const log = logger('docker');

// Ryuk (testcontainers' reaper) needs an image pulled from Docker Hub; netkata removes what
// it creates itself, by label, so the reaper is never needed.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** Stale runs from another host are swept only once this old (their owner cannot be checked). */
const FOREIGN_STALE_MS = 6 * 60 * 60_000;

/**
 * The Docker engine, found the way testcontainers finds it (DOCKER_HOST, ~/.testcontainers.properties,
 * the default socket, Docker Desktop's), after the Docker CLI's current context. The only place besides the container classes that
 * talks to dockerode.
 */
export class DockerEngine {
  private constructor(
    readonly dockerode: Dockerode,
    readonly serverVersion: string,
    readonly apiVersion: string,
  ) {}

  static async connect(timeoutMs = 10_000): Promise<DockerEngine> {
    log('Connecting to the Docker engine...');
    // The Docker CLI's current context (Colima, OrbStack, rootless), which testcontainers does not
    // read: as DOCKER_HOST, so everything this process starts (the docker CLI too) uses it.
    const context = process.env.DOCKER_HOST ? undefined : dockerContextHost();
    if (context) {
      log(`Using the Docker context ${context.context} (${context.host})`);
      process.env.DOCKER_HOST = context.host;
    }
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    try {
      const client = await Promise.race([
        explicitHost(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      const dockerode = client ?? (await getContainerRuntimeClient()).container.dockerode;
      const version = await dockerode.version();
      log(`Connected to Docker ${version.Version} (API ${version.ApiVersion})`);
      return new DockerEngine(dockerode, version.Version, version.ApiVersion);
    } catch (error) {
      throw new RuntimeUnavailableError(`no Docker engine reachable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The Linux bridge device of a run's network: named by us, so host firewall rules can match it. */
  static bridgeName(runId: string): string {
    return `nk${createHash('sha256').update(runId).digest('hex').slice(0, 12)}`;
  }

  /** An isolated bridge for one run: internal, so nothing on it has a route out of this host. */
  async createRunNetwork(runId: string): Promise<string> {
    const name = `netkata-${runId}`;
    log(`Creating network ${name}...`);
    await this.dockerode.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Labels: runLabels(runId),
      Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false', 'com.docker.network.bridge.name': DockerEngine.bridgeName(runId) },
    });
    return name;
  }

  /** Removes every container, network and image a run created, found by its label. */
  /**
   * `settled`: nothing of the run can still be being created (every step and test run ended
   * before), so one empty pass after the removals is enough.
   */
  async removeRun(runId: string, settled = false): Promise<void> {
    // Otherwise done after two empty passes in a row: a create sent just before Ctrl-C can land
    // between one pass and the next (a CI run under load left a run network behind so).
    const needed = settled ? 1 : 2;
    let empty = 0;
    for (let pass = 0; pass < 8 && empty < needed; pass++) {
      empty = (await this.removeByFilter([`${LABEL_RUN}=${runId}`])) === 0 ? empty + 1 : 0;
      if (empty < needed && (!settled || pass > 0)) await sleep(250);
    }
  }

  /**
   * Removes what earlier runs left behind (killed with SIGKILL, machine crash): runs whose owning
   * grader process on this host is gone, or runs of other hosts older than six hours. Runs of
   * live graders (a parallel batch) are left alone.
   */
  async sweepStale(): Promise<number> {
    const containers = await this.dockerode.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
    const networks = await this.dockerode.listNetworks({ filters: { label: [`${LABEL_MANAGED}=true`] } });
    const stale = new Set<string>();
    const consider = (labels: Record<string, string> | undefined, createdMs: number) => {
      const run = labels?.[LABEL_RUN];
      if (run && isStale(labels, createdMs)) stale.add(run);
    };
    for (const c of containers) consider(c.Labels, c.Created * 1000);
    for (const n of networks) consider(n.Labels, Date.parse(n.Created ?? '') || 0);
    for (const run of stale) {
      log(`Sweeping stale run ${run}`);
      await this.removeRun(run);
    }
    return stale.size;
  }

  /** Returns how many things it removed. */
  private async removeByFilter(label: string[]): Promise<number> {
    const containers = await this.dockerode.listContainers({ all: true, filters: { label } });
    await Promise.all(
      containers.map((c) =>
        this.dockerode
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((error: { statusCode?: number }) => {
            if (error.statusCode !== 404) throw error;
          }),
      ),
    );
    const networks = await this.dockerode.listNetworks({ filters: { label } });
    for (const n of networks) {
      await this.dockerode
        .getNetwork(n.Id)
        .remove()
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        });
    }
    const images = await this.dockerode.listImages({ filters: { label } });
    for (const image of images) {
      await this.dockerode
        .getImage(image.Id)
        .remove({ force: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        });
    }
    // Named volumes (a client's state folder) once no container holds them any more.
    const { Volumes: volumes } = await this.dockerode.listVolumes({ filters: { label } });
    for (const volume of volumes ?? []) {
      await this.dockerode
        .getVolume(volume.Name)
        .remove()
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        });
    }
    const volumeCount = volumes?.length ?? 0;
    log(`Removed ${containers.length} containers, ${networks.length} networks, ${images.length} images, ${volumeCount} volumes (${label.join(',')})`);
    return containers.length + networks.length + images.length + volumeCount;
  }

  /**
   * An image of `base` plus `files` (root's, read-only), with `changes` (Dockerfile instructions
   * without a RUN: USER, ENTRYPOINT, CMD) applied: a container is created (never started),
   * given the files through the archive endpoint and committed. One commit instead of a build's
   * four: 0.3 s against 1.1 s here.
   */
  async commitImage(options: {
    base: string;
    files: Readonly<Record<string, Uint8Array>>;
    tag: string;
    labels: Readonly<Record<string, string>>;
    changes: readonly string[];
  }): Promise<void> {
    log(`Committing ${options.tag} from ${options.base}...`);
    const [repo, tag = 'latest'] = options.tag.split(':');
    // Labelled with the run, so the run's removal finds it if the commit never finishes.
    const container = await this.dockerode.createContainer({ Image: options.base, Labels: { ...options.labels }, NetworkDisabled: true, Cmd: ['true'] });
    try {
      await container.putArchive(tarOf(options.files), { path: '/' });
      await container.commit({ repo, tag, changes: [...options.changes], pause: false } as Parameters<Dockerode.Container['commit']>[0]);
    } finally {
      await container.remove({ force: true, v: true }).catch(() => {});
    }
    log(`Committed ${options.tag}`);
  }

  /**
   * Builds an image. With `limits` (a learner's build): memory (no swap), CPU, a pids limit where
   * the engine allows one, a wall-clock limit (the request is aborted, which cancels the classic
   * builder's step) and a bound on what the build adds to its base. A failed build leaves nothing:
   * the containers and layers it created are found in its own output and removed.
   */
  async build(options: BuildOptions): Promise<void> {
    log(`Building ${options.tag} from ${options.contextDir ?? 'a packed context'}...`);
    const limits = options.limits;
    const jail = limits?.pidsLimit !== undefined && limits.jailImage ? await startBuildJail(this, limits, options.labels ?? {}) : undefined;
    const abort = new AbortController();
    let timedOut = false;
    const timer = limits ? setTimeout(() => ((timedOut = true), abort.abort()), limits.timeoutMs) : undefined;
    const tail = new LogTail(16 * 1024);
    const trace = new BuildTrace();
    try {
      try {
        const stream = await this.dockerode.buildImage(
          options.context ? Readable.from([options.context]) : { context: options.contextDir!, src: [...(options.files ?? [])] },
          {
            t: options.tag,
            buildargs: options.buildArgs ? { ...options.buildArgs } : undefined,
            labels: options.labels ? { ...options.labels } : undefined,
            networkmode: options.networkMode ?? 'default',
            pull: options.pull,
            rm: true,
            forcerm: true,
            ...(limits && {
              memory: limits.memoryBytes,
              memswap: limits.memoryBytes, // equal to memory: no swap
              cpuperiod: 100_000,
              cpuquota: Math.round(limits.cpus * 100_000),
              abortSignal: abort.signal,
            }),
            ...(jail && { cgroupparent: jail.cgroupParent }),
          },
        );
        await new Promise<void>((resolve, reject) => {
          this.dockerode.modem.followProgress(
            stream,
            (error: Error | null, events: Array<{ error?: string }>) => {
              const failed = error?.message ?? events.find((e) => e.error)?.error;
              if (failed) reject(new BuildFailure(failed, tail.lines(30)));
              else resolve();
            },
            (event: { stream?: string; error?: string }) => {
              if (event.stream) {
                tail.push(Buffer.from(event.stream));
                trace.read(event.stream);
              }
              if (event.error)
                tail.push(
                  Buffer.from(`${event.error}
`),
                );
            },
          );
        });
      } catch (error) {
        await trace.remove(this);
        if (timedOut) throw new BuildFailure(`the build did not finish within ${limits!.timeoutMs} ms`, tail.lines(30), 'timeout');
        if (error instanceof BuildFailure) throw error;
        if (abort.signal.aborted) throw new BuildFailure('the build was cancelled', tail.lines(30));
        throw error;
      }
      if (limits?.maxAddedBytes !== undefined) {
        const size = (await this.dockerode.getImage(options.tag).inspect()).Size;
        const base = limits.baseImage && limits.baseImage !== 'scratch' ? (await this.dockerode.getImage(limits.baseImage).inspect()).Size : 0;
        if (size - base > limits.maxAddedBytes) {
          await this.dockerode
            .getImage(options.tag)
            .remove()
            .catch(() => {});
          await trace.remove(this);
          const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
          throw new BuildFailure(
            `the image adds ${mib(size - base)} to its base; a submission's image may add at most ${mib(limits.maxAddedBytes)}`,
            tail.lines(10),
            'too-large',
          );
        }
      }
    } finally {
      clearTimeout(timer);
      if (jail)
        await this.dockerode
          .getContainer(jail.id)
          .remove({ force: true })
          .catch(() => {});
    }
    log(`Built ${options.tag}`);
  }

  /** Pulls an image; false when no registry answers (the offline case). */
  async tryPull(reference: string): Promise<boolean> {
    try {
      const stream: NodeJS.ReadableStream = await this.dockerode.pull(reference);
      await new Promise<void>((resolve, reject) => this.dockerode.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
      return true;
    } catch (error) {
      log(`Pull of ${reference} failed: ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * Runs a command in a running container and waits for it; the output is stdout and stderr
   * together, capped. A command that outlives `timeoutMs` is an infrastructure failure.
   */
  async exec(containerId: string, cmd: readonly string[], timeoutMs = 15_000): Promise<ExecResult> {
    const container = this.dockerode.getContainer(containerId);
    const exec = await container.exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const tail = new LogTail();
    const done = new Promise<void>((resolve, reject) => {
      const sink = new PassThrough();
      sink.on('data', (chunk: Buffer) => tail.push(chunk));
      this.dockerode.modem.demuxStream(stream, sink, sink);
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new InfrastructureError(`\`${cmd.join(' ')}\` did not finish within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, output: tail.lines(40) };
  }

  /**
   * Runs `cmd` in a container and returns what it wrote to stdout as bytes (a tar of files, say),
   * at most `maxBytes` of it: past that the exec fails rather than fill the grader's memory.
   */
  async execBytes(containerId: string, cmd: readonly string[], maxBytes: number, timeoutMs = 15_000): Promise<Buffer> {
    const exec = await this.dockerode.getContainer(containerId).exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    let size = 0;
    const errors = new LogTail(4_096);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        stdout.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) reject(new InfrastructureError(`\`${cmd.join(' ')}\` wrote more than ${maxBytes} bytes`));
          else chunks.push(chunk);
        });
        stderr.on('data', (chunk: Buffer) => errors.push(chunk));
        this.dockerode.modem.demuxStream(stream, stdout, stderr);
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', reject);
        timer = setTimeout(() => reject(new InfrastructureError(`\`${cmd.join(' ')}\` did not finish within ${timeoutMs} ms`)), timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
    const info = await exec.inspect();
    if (info.ExitCode !== 0) throw new InfrastructureError(`\`${cmd.join(' ')}\` failed (exit ${info.ExitCode}): ${errors.lines(5)}`);
    return Buffer.concat(chunks);
  }

  async tagImage(source: string, target: string): Promise<void> {
    const [repo = target, tag = 'latest'] = target.split(':');
    await this.dockerode.getImage(source).tag({ repo, tag });
  }

  async imageExists(tag: string): Promise<boolean> {
    try {
      await this.dockerode.getImage(tag).inspect();
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw new InfrastructureError(`cannot inspect image ${tag}: ${(error as Error).message}`);
    }
  }
}

export interface ExecResult {
  readonly exitCode: number;
  readonly output: string;
}

export interface BuildOptions {
  /** A folder and the paths in it (relative) that make up the build context; or `context`. */
  readonly contextDir?: string;
  readonly files?: readonly string[];
  /** The build context as an uncompressed tar, packed by the caller. */
  readonly context?: Buffer;
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** 'none' for learners' builds: a Dockerfile gets no network at all. */
  readonly networkMode?: 'none' | 'default';
  readonly pull?: boolean;
  /** For builds of code the grader does not trust. */
  readonly limits?: BuildLimits;
}

export interface BuildLimits {
  /** Memory of each build step's container; swap is not allowed on top. */
  readonly memoryBytes: number;
  readonly cpus: number;
  /** The whole build, wall clock; the request is aborted after it. */
  readonly timeoutMs: number;
  /** Tasks of the whole build (applied through a pids-limited parent cgroup, where the engine allows). */
  readonly pidsLimit?: number;
  /** An image with `sleep`, for the container whose cgroup parents the build's. */
  readonly jailImage?: string;
  /** What the image may add to `baseImage` (its final stage's base, or 'scratch'). */
  readonly maxAddedBytes?: number;
  readonly baseImage?: string;
}

/** A failed `docker build`, with the tail of its output. */
export class BuildFailure extends Error {
  constructor(
    message: string,
    readonly output: string,
    readonly reason: 'failed' | 'timeout' | 'too-large' = 'failed',
  ) {
    super(message);
    this.name = 'BuildFailure';
  }
}

/**
 * What a classic build created, read from its output: the step containers (`Running in ID`)
 * and the layers it committed (` ---> ID`, except a FROM's base and a cache hit, which are not
 * its own). Intermediate containers and layers carry no labels, so this is how they are found.
 */
class BuildTrace {
  private readonly containers = new Set<string>();
  private readonly images: string[] = [];
  private notOurs = false;
  private partial = '';

  read(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (/^Step \d+\/\d+ : FROM /i.test(line)) this.notOurs = true;
      const running = /^ ---> Running in ([0-9a-f]{12,64})\s*$/.exec(line);
      if (running) this.containers.add(running[1]!);
      else if (/^ ---> Using cache\s*$/.test(line)) this.notOurs = true;
      else {
        const layer = /^ ---> ([0-9a-f]{12,64})\s*$/.exec(line);
        if (layer) {
          if (!this.notOurs) this.images.push(layer[1]!);
          this.notOurs = false;
        }
      }
    }
  }

  /** Removes them; the daemon may still be tearing a cancelled step down, so containers are waited for. */
  async remove(engine: DockerEngine): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (const id of this.containers) {
      for (;;) {
        try {
          await engine.dockerode.getContainer(id).remove({ force: true, v: true });
          break;
        } catch (error) {
          const status = (error as { statusCode?: number }).statusCode;
          if (status === 404 || Date.now() > deadline) break;
          await sleep(250); // 409: removal already in progress
        }
      }
    }
    for (const id of [...this.images].reverse()) {
      // Not forced: a layer that is in use (a parent of another image) stays, as it must.
      await engine.dockerode
        .getImage(id)
        .remove()
        .catch(() => {});
    }
  }
}

/**
 * The classic builder's API has no pids limit, but a step container takes the cgroup parent it is
 * given: under cgroup v1 with the cgroupfs driver, a sleeping container with a pids limit makes a
 * parent whose limit covers every step (pids.max is hierarchical). Elsewhere (cgroup v2 forbids a
 * cgroup with processes to have children with controllers; systemd wants a slice) the build has
 * the memory and time limits only.
 */
async function startBuildJail(
  engine: DockerEngine,
  limits: BuildLimits,
  labels: Readonly<Record<string, string>>,
): Promise<{ id: string; cgroupParent: string } | undefined> {
  const info = (await engine.dockerode.info()) as { CgroupVersion?: string; CgroupDriver?: string };
  if (info.CgroupVersion !== '1' || info.CgroupDriver !== 'cgroupfs') {
    log(`No pids limit for the build: cgroup v${info.CgroupVersion ?? '?'} with the ${info.CgroupDriver ?? '?'} driver`);
    return undefined;
  }
  const container = await engine.dockerode.createContainer({
    Image: limits.jailImage,
    Cmd: ['sleep', String(Math.ceil(limits.timeoutMs / 1000) + 30)],
    Labels: { ...labels, 'netkata.role': 'build-jail' },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      PidsLimit: limits.pidsLimit!,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      CapDrop: ['ALL'],
      AutoRemove: false,
    },
  });
  try {
    await container.start();
    const { output } = await engine.exec(container.id, ['cat', '/proc/self/cgroup']);
    const parent = /^\d+:pids:(\/.+)$/m.exec(output)?.[1];
    if (!parent) throw new Error(`no pids cgroup in ${output.slice(0, 200)}`);
    return { id: container.id, cgroupParent: parent };
  } catch (error) {
    await container.remove({ force: true }).catch(() => {});
    throw new InfrastructureError(`cannot set up the build's pids limit: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * An explicit DOCKER_HOST is the engine the user chose: if it does not answer, that is the
 * answer (testcontainers alone would quietly try the default socket next).
 */
async function explicitHost(): Promise<Dockerode | undefined> {
  if (!process.env.DOCKER_HOST) return undefined;
  const { default: Docker } = await import('dockerode');
  const dockerode = new Docker();
  try {
    await dockerode.ping();
  } catch (error) {
    throw new Error(`DOCKER_HOST=${process.env.DOCKER_HOST} does not answer: ${(error as Error).message}`, { cause: error });
  }
  return dockerode;
}

function isStale(labels: Readonly<Record<string, string>> | undefined, createdMs: number): boolean {
  const state = ownerState(labels);
  return state === 'gone' || (state === 'unknown' && Date.now() - createdMs > FOREIGN_STALE_MS);
}
