import { randomBytes } from 'node:crypto';
import { cp, link, mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleSubmission } from '../src/build/bundle.ts';
import { MAX_CONTEXT_BYTES, packBuildContext } from '../src/build/build-context.ts';
import { buildSubmissionImage, type SubmissionBuildLimits } from '../src/build/submission-image.ts';
import { resolveSubmission } from '../src/build/submission.ts';
import { SubmissionBuildError } from '../src/errors.ts';
import { ensureImage } from '../src/images/ensure-image.ts';
import type { ImageDefinition } from '../src/images/image-spec.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { runLabels } from '../src/runtime/docker/labels.ts';
import { repoRoot } from '../src/paths.ts';
import { fixture, gradeJson } from './helpers/cli.ts';

let tmp: string;
/** A random value that must never appear in any output. */
const SECRET = `nk-secret-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'netkata-hostile-build-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A copy of a hostile fixture at `where` (under tmp), placeholders replaced: fixtures outside the grader's fixture tree. */
async function materialize(name: string, where: string, replacements: Record<string, string> = {}): Promise<string> {
  const dir = path.join(tmp, where);
  await cp(fixture('hostile-build', name), dir, { recursive: true });
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    let text = await readFile(file, 'utf8');
    for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
    await writeFile(file, text);
  }
  return dir;
}

/** The host files a hostile submission reaches for, all holding SECRET. */
async function hostSecrets(): Promise<string> {
  const dir = path.join(tmp, `host-${randomBytes(4).toString('hex')}`);
  await mkdir(dir);
  await writeFile(path.join(dir, 'secret.json'), JSON.stringify({ secret: SECRET }));
  await writeFile(path.join(dir, 'secret.ts'), `export const secret = '${SECRET}';\nexport default secret;\n`);
  // Not JSON: if anything parsed it, its error would quote it.
  await writeFile(path.join(dir, 'tsconfig.json'), `${SECRET} {{{`);
  return dir;
}

async function bundleFails(dir: string): Promise<string> {
  const out = await mkdtemp(path.join(tmp, 'out-'));
  const error = await bundleSubmission(path.join(dir, 'src', 'main.ts'), out).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the bundle must fail').toBeInstanceOf(SubmissionBuildError);
  const text = `${(error as SubmissionBuildError).message}\n${(error as SubmissionBuildError).output}`;
  expect(text).not.toContain(SECRET);
  expect(await readdir(out), 'no bundle written').toEqual([]);
  return text;
}

describe('TypeScript bundling is confined to the submission folder', () => {
  test('an absolute import of a host file fails the build naming the import (json and ts alike)', async () => {
    const host = await hostSecrets();
    for (const file of ['secret.json', 'secret.ts']) {
      const dir = await materialize('absolute-import', `absolute-${file}`, { __SECRET_PATH__: path.join(host, file) });
      const text = await bundleFails(dir);
      expect(text).toContain(
        `src/main.ts:3: import "${path.join(host, file)}" is outside your submission folder; a submission may import only its own .ts/.js files and Node's built-in modules`,
      );
    }
  });

  test('an import through ../.. out of the folder fails, without looking at the file', async () => {
    const dir = await materialize('dotdot-import', 'dotdot/a/submission');
    await writeFile(path.join(tmp, 'dotdot', 'secret.ts'), `export const secret = '${SECRET}';\n`);
    expect(await bundleFails(dir)).toContain('src/main.ts:2: import "../../../secret.ts" is outside your submission folder');
  });

  test('a symbolic link to a host file, or through a linked folder, fails', async () => {
    const host = await hostSecrets();
    const dir = await materialize('symlink-import', 'symlink');
    await symlink(path.join(host, 'secret.ts'), path.join(dir, 'src', 'link.ts'));
    expect(await bundleFails(dir)).toContain('src/main.ts:2: import "./link.ts" leads (through a symbolic link) outside your submission folder');
    await rm(path.join(dir, 'src', 'link.ts'));
    await symlink(host, path.join(dir, 'src', 'hostdir'));
    await writeFile(path.join(dir, 'src', 'main.ts'), "import { secret } from './hostdir/secret.ts';\nconsole.log(secret);\n");
    expect(await bundleFails(dir)).toContain('import "./hostdir/secret.ts" leads (through a symbolic link) outside');
    // A missing host file gets the same answer as an existing one: no oracle for what the host holds.
    await writeFile(path.join(dir, 'src', 'main.ts'), "import { secret } from './hostdir/no-such-file.ts';\nconsole.log(secret);\n");
    expect(await bundleFails(dir)).toContain('leads (through a symbolic link) outside');
  });

  test("the folder's own .json is refused too: only code is bundled", async () => {
    const dir = await materialize('own-json', 'own-json');
    expect(await bundleFails(dir)).toContain('src/main.ts:2: import "./data.json" is not code (.json): data files are not bundled');
  });

  test('a tsconfig.json with paths and extends pointing out is never read', async () => {
    const host = await hostSecrets();
    const dir = await materialize('tsconfig-paths', 'tsconfig-paths', { __SECRET_DIR__: host });
    expect(await bundleFails(dir)).toContain('"@host/secret.ts" is not a Node built-in module');
  });

  test('a legitimate submission reached through a symbolic link bundles, naming files only relative to it', async () => {
    const real = path.join(tmp, 'real-solution');
    await cp(path.join(repoRoot, 'solutions', '02-framing'), real, { recursive: true });
    await symlink(real, path.join(tmp, 'linked-solution'));
    const out = await mkdtemp(path.join(tmp, 'out-'));
    const bundle = await bundleSubmission(path.join(tmp, 'linked-solution', 'src', 'main.ts'), out);
    const text = await readFile(bundle, 'utf8');
    expect(text).not.toContain(tmp);
    expect(text).not.toContain(repoRoot);
    const map = JSON.parse(Buffer.from(/base64,(\S+)\s*$/.exec(text)![1]!, 'base64').toString()) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sources.sort()).toEqual(['src/framing.ts', 'src/main.ts']);
    expect(map.sourcesContent).toBeUndefined();
  });
});

describe('a Dockerfile submission is built from its own regular files', () => {
  test('symbolic links (to a file, to a folder) are left out of the context; a hard link is a file of the folder', async () => {
    const host = await hostSecrets();
    const dir = await materialize('context-links', 'context-links');
    await symlink(path.join(host, 'secret.ts'), path.join(dir, 'host-file.txt'));
    await symlink(host, path.join(dir, 'host-dir'));
    await writeFile(path.join(dir, 'own.txt'), 'mine');
    await link(path.join(dir, 'own.txt'), path.join(dir, 'own-hardlink.txt'));
    const context = await packBuildContext(dir);
    expect([...context.files].sort()).toEqual(['Dockerfile', 'own-hardlink.txt', 'own.txt']);
    expect([...context.skipped].sort()).toEqual(['host-dir', 'host-file.txt']);
    expect(context.tar.includes(SECRET)).toBe(false);
  });

  test(`a folder with a 2 GiB file fails at once with its size (the context limit is ${MAX_CONTEXT_BYTES / 1024 / 1024} MiB)`, async () => {
    const dir = await materialize('volume', 'big-context');
    await writeFile(path.join(dir, 'big.bin'), '');
    await truncate(path.join(dir, 'big.bin'), 2 * 1024 ** 3); // sparse: no disk used
    const started = Date.now();
    const error = await packBuildContext(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubmissionBuildError);
    expect((error as SubmissionBuildError).output).toContain(
      'its files come to 2048.0 MiB; the build context may be at most 64.0 MiB. The largest: big.bin (2048.0 MiB)',
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('Dockerfile builds run under a policy and limits', () => {
  let engine: DockerEngine;
  let images: Record<string, ImageDefinition>;
  const runId = `hostile-build-${randomBytes(3).toString('hex')}`;
  const labels = runLabels(runId);

  beforeAll(async () => {
    engine = await DockerEngine.connect();
    images = { runtime: await ensureImage(engine, 'runtime', 'offline') };
  });
  afterAll(async () => {
    await engine?.removeRun(runId);
  });

  /** Containers and images created since `before` whose command holds `marker`: what this build left. */
  async function snapshot() {
    const containers = new Set((await engine.dockerode.listContainers({ all: true })).map((c) => c.Id));
    const imageIds = new Set((await engine.dockerode.listImages({ all: true })).map((i) => i.Id));
    return { containers, imageIds };
  }
  async function leftovers(before: Awaited<ReturnType<typeof snapshot>>, marker: string): Promise<string[]> {
    const left: string[] = [];
    for (const c of await engine.dockerode.listContainers({ all: true })) {
      if (!before.containers.has(c.Id) && (c.Command.includes(marker) || c.Labels?.['netkata.run'] === runId))
        left.push(`container ${c.Id.slice(0, 12)} ${c.Command}`);
    }
    for (const i of await engine.dockerode.listImages({ all: true })) {
      if (before.imageIds.has(i.Id)) continue;
      const info = await engine.dockerode
        .getImage(i.Id)
        .inspect()
        .catch(() => undefined);
      const cmd = [...(info?.ContainerConfig?.Cmd ?? []), ...(info?.Config?.Cmd ?? [])].join(' ');
      if (cmd.includes(marker) || i.Labels?.['netkata.run'] === runId) left.push(`image ${i.Id.slice(7, 19)} ${cmd}`);
    }
    const { Volumes: volumes } = await engine.dockerode.listVolumes();
    for (const v of volumes ?? []) if (v.Labels?.['netkata.run'] === runId) left.push(`volume ${v.Name}`);
    return left;
  }

  async function build(
    name: string,
    buildLimits: Partial<SubmissionBuildLimits> = {},
  ): Promise<{ error: SubmissionBuildError; elapsedMs: number; tag: string }> {
    const dir = await materialize(name, `docker-${name}`);
    const tag = `netkata/submission:${runId}-${name}`;
    const started = Date.now();
    const error = await buildSubmissionImage({ engine, submission: await resolveSubmission(dir), workDir: tmp, images, tag, labels, buildLimits }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, `${name} must fail to build`).toBeInstanceOf(SubmissionBuildError);
    expect(await engine.imageExists(tag), 'no image under the tag').toBe(false);
    return { error: error as SubmissionBuildError, elapsedMs: Date.now() - started, tag };
  }

  test.each([
    ['from-ubuntu', 'Dockerfile:1: FROM ubuntu:22.04 is not allowed: build FROM ${NETKATA_RUNTIME} or ${NETKATA_RUNTIME_C}', 'ubuntu'],
    ['volume', 'Dockerfile:3: VOLUME is not allowed', 'VOLUME'],
    ['copy-from-image', 'Dockerfile:4: COPY --from=netkata/runtime-c:latest is not allowed: --from may name only an earlier stage', 'gcc'],
    ['add-url', 'Dockerfile:4: ADD https://example.invalid/x is not allowed', 'example.invalid'],
  ])('%s is refused by the policy before any build', async (name, message, marker) => {
    const before = await snapshot();
    const { error, elapsedMs } = await build(name);
    expect(error.message).toBe('your Dockerfile is not allowed');
    expect(error.output).toContain(message);
    expect(elapsedMs).toBeLessThan(2_000);
    expect(await leftovers(before, marker)).toEqual([]);
  });

  test('a build step that sleeps forever is stopped at the time limit, and leaves no container or layer', async () => {
    const before = await snapshot();
    const { error, elapsedMs } = await build('sleep-forever', { timeoutMs: 10_000 });
    expect(error.message).toBe("your Dockerfile did not build within 10 s (the build's time limit)");
    expect(elapsedMs).toBeLessThan(30_000);
    expect(await leftovers(before, 'sleep infinity')).toEqual([]);
  });

  test('a fork bomb in a build step is contained by the pids limit', async () => {
    const before = await snapshot();
    const hostTasks = async () => (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).length;
    const baseline = await hostTasks();
    let peak = baseline;
    const sampler = setInterval(() => void hostTasks().then((n) => (peak = Math.max(peak, n))), 100);
    try {
      const { error, elapsedMs } = await build('fork-bomb', { timeoutMs: 60_000 });
      expect(error.message).toBe('your Dockerfile does not build');
      expect(error.output).toMatch(/Cannot fork|Resource temporarily unavailable/);
      expect(elapsedMs).toBeLessThan(60_000);
    } finally {
      clearInterval(sampler);
    }
    // The limit is 256 tasks for the whole build; others' processes on this machine add noise.
    expect(peak - baseline, `host tasks rose from ${baseline} to ${peak}`).toBeLessThan(600);
    expect(await leftovers(before, 'bomb')).toEqual([]);
  });

  test('a build that writes a huge layer fails the image-size limit and leaves nothing', async () => {
    const before = await snapshot();
    const { error } = await build('huge-layer');
    expect(error.message).toBe('your image is too large (it may add at most 256 MiB to its base)');
    expect(error.output).toMatch(/the image adds 3\d\d MiB to its base; a submission's image may add at most 256 MiB/);
    expect(await leftovers(before, 'head -c 300M')).toEqual([]);
  });

  test('symbolic links out of the folder are not in the build, and the build still works', async () => {
    const host = await hostSecrets();
    const dir = await materialize('context-links', 'docker-links');
    await symlink(path.join(host, 'secret.ts'), path.join(dir, 'host-file.txt'));
    await symlink(host, path.join(dir, 'host-dir'));
    const tag = `netkata/submission:${runId}-links`;
    await buildSubmissionImage({ engine, submission: await resolveSubmission(dir), workDir: tmp, images, tag, labels });
    const history = JSON.stringify(await engine.dockerode.getImage(tag).history());
    expect(history).not.toContain(SECRET);
    const { Config } = await engine.dockerode.getImage(tag).inspect();
    expect(Config.Labels?.['netkata.run']).toBe(runId);
  });
});

describe('whole grades', () => {
  test('a submission that imports a host file fails its grade as a build failure, the secret nowhere', async () => {
    const host = await hostSecrets();
    const dir = await materialize('absolute-import', 'grade-absolute', { __SECRET_PATH__: path.join(host, 'secret.json') });
    const { code, report, stdout, stderr } = await gradeJson(['echo-server', '--submission', dir, '--runtime', 'docker', '--stages', '1']);
    expect(code, stderr).toBe(1);
    expect(report.status).toBe('fail');
    expect(report.buildError).toContain('src/main.ts:3: import "');
    expect(report.buildError).toContain('is outside your submission folder');
    expect(stdout + stderr).not.toContain(SECRET);
  });

  test('ADD <url> fails its grade before any build starts', async () => {
    const dir = await materialize('add-url', 'grade-add-url');
    const { code, report, stderr } = await gradeJson(['echo-server', '--submission', dir, '--runtime', 'docker', '--stages', '1'], { DEBUG: 'netkata:docker' });
    expect(code, stderr).toBe(1);
    expect(report.status).toBe('fail');
    expect(report.buildError).toContain('Dockerfile:4: ADD https://example.invalid/x is not allowed');
    expect(stderr).toContain('Connected to Docker');
    expect(stderr, 'no build of the submission started').not.toContain('Building netkata/submission');
  });
});
