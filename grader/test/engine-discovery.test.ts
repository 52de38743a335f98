// The grader inside a container, as a CI job that runs in one (GitLab's docker executor, a
// Jenkins agent) with the engine's socket mounted: the submission and its peers are its
// siblings, whose internal networks are not routable from the job's own. The grader must see
// that, reach them through published ports on the engine's side of the default bridge, and
// leave nothing behind.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { loadImage } from '../src/images/image-spec.ts';
import { repoRoot } from '../src/paths.ts';
import type { GradeReport } from '../src/report/grade-report.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { LABEL_MANAGED, LABEL_OWNER } from '../src/runtime/docker/labels.ts';

const run = promisify(execFile);

test('a grader in a container (a CI job with the socket mounted) grades its sibling through published ports; forced direct, the unreachable path is its own error', async () => {
  const { tag: image } = await loadImage('runtime');
  const name = `netkata-test-ci-job-${process.pid}`;
  // The repository read-only at the same path, the engine's socket, root for the socket; the
  // grader's scratch (tsx, vitest and work folders) in the job container's own /tmp.
  const job = (args: readonly string[], env: readonly string[] = []) =>
    run(
      'docker',
      [
        'run',
        '--rm',
        '--name',
        name,
        '--user',
        '0',
        '-v',
        '/var/run/docker.sock:/var/run/docker.sock',
        '-v',
        `${repoRoot}:${repoRoot}:ro`,
        '-w',
        repoRoot,
        '-e',
        'HOME=/tmp',
        '-e',
        'NETKATA_PROGRESS_FILE=/tmp/progress.json',
        '-e',
        'NETKATA_CACHE_DIR=/tmp/netkata-cache',
        ...env.flatMap((e) => ['-e', e]),
        image,
        'node',
        'bin/netkata.js',
        ...args,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { stdout?: string; stderr?: string; code?: number }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
    );
  const doctor = await job(['doctor', '--json']);
  expect(JSON.parse(doctor.stdout).endpoints, doctor.stderr).toBe('published');
  const stage1 = ['grade', 'echo-server', '--solution', '--runtime', 'docker', '--stages', '1', '--reporter', 'json'];
  const graded = await job(stage1);
  let report: GradeReport;
  try {
    report = JSON.parse(graded.stdout) as GradeReport;
  } catch {
    throw new Error(`the grader in a container printed no report:\n${graded.stdout}\n${graded.stderr}`);
  }
  expect(report.graderErrors, graded.stderr).toEqual([]);
  expect(report.status, graded.stderr).toBe('pass');
  expect(report.points).toBe(report.maxPoints);
  // Its runs are labelled with the job container's host name, which the engine's other users never see as theirs: all gone.
  const engine = await DockerEngine.connect();
  const managed = await engine.dockerode.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
  const notThisHosts = managed.filter((c) => !(c.Labels?.[LABEL_OWNER] ?? '').startsWith(`${os.hostname()}:`));
  expect(notThisHosts.map((c) => c.Names)).toEqual([]);

  // Forced onto the direct path it cannot route, the grader finds the reference listening as it
  // should and says the fault is its own (exit 2), never the learner's "listens on another port".
  const direct = await job(stage1, ['NETKATA_ENDPOINTS=direct']);
  expect(direct.code, direct.stderr).toBe(2);
  const directReport = JSON.parse(direct.stdout) as GradeReport;
  expect(directReport.status).toBe('error');
  expect(directReport.graderErrors.join('\n')).toMatch(/listens on 0\.0\.0\.0:7000 as it should, but the grader cannot reach it .*NETKATA_ENDPOINTS=published/);
  expect(directReport.tests.map((t) => t.error ?? '').join('\n')).not.toMatch(/instead: use the port/);
}, 180_000);
