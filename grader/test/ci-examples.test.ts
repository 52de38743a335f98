// The example CI workflows (examples/ci/) as CI would run them: each file parsed, each job's
// commands run here in order, with the matrix, parallel and environment values the CI system
// would give them and the artifacts passed on as it would pass them. `npm ci` is the one step
// left out: the project's own install is what the commands run with. The class is quick to
// grade (empty folders, submissions that do not build); whether shards merge into the grades
// of the whole class is batch-gradebook.test.ts's, and real grades are batch.test.ts's.
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../src/paths.ts';
import { gradebookSchema } from '../src/report/gradebook.ts';
import { fixture } from './helpers/cli.ts';
import { junitSchemaErrors } from './helpers/untrusted-output.ts';

const EXAMPLES = path.join(repoRoot, 'examples', 'ci');
const CLASS = ['broken-a', 'broken-b', 'nothing-a', 'nothing-b', 'nothing-c'];

interface Step {
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}

/** A folder like a CI job's checkout: the class's submissions, and netkata where `npx netkata` finds it. */
async function checkout(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-ci-example-'));
  await writeFile(path.join(dir, 'package.json'), '{ "name": "a-class", "private": true }\n');
  await mkdir(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  await symlink(path.join(repoRoot, 'bin', 'netkata.js'), path.join(dir, 'node_modules', '.bin', 'netkata'));
  for (const name of CLASS) {
    if (name.startsWith('broken')) await cp(fixture('echo-server', 'syntax-error'), path.join(dir, 'submissions', name), { recursive: true });
    else await mkdir(path.join(dir, 'submissions', name), { recursive: true });
  }
  return dir;
}

/** Runs one command as the CI runner would (bash, stop at the first error); `${{ ... }}` must all be known. */
function run(command: string, cwd: string, env: Record<string, string>, values: Record<string, string> = {}) {
  const script = command.replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_whole, name: string) => {
    if (!(name in values)) throw new Error(`the example uses \${{ ${name} }}, which this test does not give a value`);
    return values[name]!;
  });
  // npx never goes to the registry here: the netkata it runs is this checkout's.
  const result = spawnSync('bash', ['-e', '-c', script], { cwd, env: { ...process.env, ...env, npm_config_offline: 'true' }, encoding: 'utf8' });
  expect(result.status, `${script}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

const isInstall = (command: string) => command.trim() === 'npm ci';

let workflows: Record<string, unknown>;
beforeAll(async () => {
  workflows = Object.fromEntries(
    await Promise.all(
      ['github-class.yml', 'gitlab-class.yml', 'student-repo.yml'].map(async (file) => [file, parse(await readFile(path.join(EXAMPLES, file), 'utf8'))]),
    ),
  );
});

describe('example CI workflows', () => {
  test('GitHub Actions: a matrix of shards, their artifacts, one merged gradebook', async () => {
    const flow = workflows['github-class.yml'] as {
      env: Record<string, string>;
      jobs: Record<string, { steps: Step[]; strategy?: { matrix: { shard: number[] } } }>;
    };
    const shards = flow.jobs.grade!.strategy!.matrix.shard;
    const artifacts = await mkdtemp(path.join(os.tmpdir(), 'netkata-ci-artifacts-'));
    for (const shard of shards) {
      const dir = await checkout();
      for (const step of flow.jobs.grade!.steps) {
        if (step.run && !isInstall(step.run)) run(step.run, dir, flow.env, { 'matrix.shard': String(shard) });
        if (step.uses?.startsWith('actions/upload-artifact')) {
          const name = step.with!.name!.replace('${{ matrix.shard }}', String(shard));
          await cp(path.join(dir, step.with!.path!.replace('${{ matrix.shard }}', String(shard))), path.join(artifacts, name), { recursive: true });
        }
      }
    }
    const dir = await checkout();
    for (const step of flow.jobs.gradebook!.steps) {
      if (step.uses?.startsWith('actions/download-artifact')) await cp(artifacts, path.join(dir, step.with!.path!), { recursive: true });
      if (step.run && !isInstall(step.run)) run(step.run, dir, flow.env);
    }
    const book = gradebookSchema.parse(JSON.parse(await readFile(path.join(dir, 'class', 'gradebook.json'), 'utf8')));
    expect(book.rows.map((r) => [r.submission, r.status, r.points])).toEqual(CLASS.map((name) => [name, 'fail', 0]));
    expect(book.seed).toBe(Number(flow.env.SEED));
    expect(await readFile(path.join(dir, 'class', 'gradebook.csv'), 'utf8')).toContain('broken-a,fail,0,');
  });

  test('GitLab CI: parallel shards by CI_NODE_INDEX, their JUnit reports, one merged gradebook', async () => {
    const flow = workflows['gitlab-class.yml'] as Record<
      string,
      { parallel?: number; script?: string[]; variables?: Record<string, string>; artifacts?: { reports?: { junit: string } } }
    > & {
      variables: Record<string, string>;
    };
    const dir = await checkout();
    // The job's own variables point at its docker:dind service; here the engine is this machine's.
    expect(flow.grade!.variables).toMatchObject({ DOCKER_HOST: 'tcp://docker:2375' });
    const total = flow.grade!.parallel!;
    for (let index = 1; index <= total; index++) {
      for (const line of flow.grade!.script!)
        if (!isInstall(line)) run(line, dir, { ...flow.variables, CI_NODE_INDEX: String(index), CI_NODE_TOTAL: String(total) });
    }
    for (const line of flow.gradebook!.script!) if (!isInstall(line)) run(line, dir, flow.variables);
    const book = gradebookSchema.parse(JSON.parse(await readFile(path.join(dir, 'class', 'gradebook.json'), 'utf8')));
    expect(book.rows.map((r) => r.submission)).toEqual(CLASS);
    // The JUnit files the job hands GitLab: the broken submissions' reports, valid by the schema.
    const junit = spawnSync('bash', ['-c', `ls ${flow.grade!.artifacts!.reports!.junit}`], { cwd: dir, encoding: 'utf8' })
      .stdout.trim()
      .split('\n');
    expect(junit.map((f) => path.basename(f)).sort()).toEqual(['broken-a.xml', 'broken-b.xml']);
    for (const file of junit) expect(await junitSchemaErrors(await readFile(path.join(dir, file), 'utf8'))).toEqual([]);
  });

  test("a learner's repository: the grade on push writes annotations, the job summary and its report files", async () => {
    const flow = workflows['student-repo.yml'] as { jobs: { grade: { steps: Step[] } } };
    const dir = await checkout();
    const summary = path.join(dir, 'summary.md');
    const [grade] = flow.jobs.grade.steps.filter((s) => s.run && !isInstall(s.run));
    // The learner's exercises/ (a scratch copy) holds an echo server with a syntax error: quick to
    // grade, and every reporter of the workflow has something to say.
    const exercises = path.join(dir, 'exercises');
    await cp(path.join(repoRoot, 'exercises'), exercises, { recursive: true });
    await cp(fixture('echo-server', 'syntax-error', 'src', 'main.ts'), path.join(exercises, '01-echo-server', 'src', 'main.ts'));
    const env = { ...process.env, GITHUB_STEP_SUMMARY: summary, NETKATA_EXERCISES_DIR: exercises, npm_config_offline: 'true' };
    const result = spawnSync('bash', ['-e', '-c', grade!.run!], { cwd: dir, env, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^::error file=.*01-echo-server\/src\/main\.ts,title=does not build::/m);
    expect(result.stdout).toMatch(/^::notice title=netkata echo-server::FAIL 0\/\d+ points$/m);
    expect(await readFile(summary, 'utf8')).toMatch(/^### netkata echo\\-server: FAIL 0\/\d+ points$/m);
    expect(await junitSchemaErrors(await readFile(path.join(dir, 'report.xml'), 'utf8'))).toEqual([]);
    expect(JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')).status).toBe('fail');
  });
});
