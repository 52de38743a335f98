import { createHash } from 'node:crypto';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { InfrastructureError, RuntimeUnavailableError } from '../../errors.ts';
import { logger } from '../../log.ts';
import { LogTail } from '../log-tail.ts';
import { LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, runLabels } from './labels.ts';

const log = logger('docker');

// Ryuk (testcontainers' reaper) needs an image pulled from Docker Hub; netkata removes what
// it creates itself, by label, so the reaper is never needed.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** Stale runs from another host are swept only once this old (their owner cannot be checked). */
const FOREIGN_STALE_MS = 6 * 60 * 60_000;

/**
 * The Docker engine, found the way testcontainers finds it (DOCKER_HOST, ~/.testcontainers.properties,
 * the default socket, Docker Desktop's). The only place besides the container classes that
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
  async removeRun(runId: string): Promise<void> {
    // Done after two empty passes in a row: a create sent just before Ctrl-C can land between
    // one pass and the next (a CI run under load left a run network behind so).
    let empty = 0;
    for (let pass = 0; pass < 8 && empty < 2; pass++) {
      empty = (await this.removeByFilter([`${LABEL_RUN}=${runId}`])) === 0 ? empty + 1 : 0;
      if (empty < 2) await sleep(250);
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
      if (run && isStale(labels?.[LABEL_OWNER], createdMs)) stale.add(run);
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

  async build(options: BuildOptions): Promise<void> {
    log(`Building ${options.tag} from ${options.contextDir}...`);
    const stream = await this.dockerode.buildImage(
      { context: options.contextDir, src: [...options.files] },
      {
        t: options.tag,
        buildargs: options.buildArgs ? { ...options.buildArgs } : undefined,
        labels: options.labels ? { ...options.labels } : undefined,
        networkmode: options.networkMode ?? 'default',
        pull: options.pull,
        rm: true,
        forcerm: true,
      },
    );
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      this.dockerode.modem.followProgress(
        stream,
        (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
          const failed = error?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new BuildFailure(failed, lines.slice(-30).join('')));
          else resolve();
        },
        (event: { stream?: string; error?: string }) => {
          if (event.stream) lines.push(event.stream);
          if (event.error) lines.push(`${event.error}\n`);
        },
      );
    });
    log(`Built ${options.tag}`);
  }

  /** Pulls an image; false when no registry answers (the offline case). */
  async tryPull(reference: string): Promise<boolean> {
    try {
      const stream: NodeJS.ReadableStream = await this.dockerode.pull(reference);
      await new Promise<void>((resolve, reject) =>
        this.dockerode.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
      );
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
  readonly contextDir: string;
  /** Paths relative to contextDir that make up the build context. */
  readonly files: readonly string[];
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** 'none' for learners' builds: a Dockerfile gets no network at all. */
  readonly networkMode?: 'none' | 'default';
  readonly pull?: boolean;
}

/** A failed `docker build`, with the tail of its output. */
export class BuildFailure extends Error {
  constructor(message: string, readonly output: string) {
    super(message);
    this.name = 'BuildFailure';
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
    throw new Error(`DOCKER_HOST=${process.env.DOCKER_HOST} does not answer: ${(error as Error).message}`);
  }
  return dockerode;
}

function isStale(owner: string | undefined, createdMs: number): boolean {
  const [host, pid] = (owner ?? '').split(':');
  if (host !== os.hostname() || !pid) return Date.now() - createdMs > FOREIGN_STALE_MS;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
