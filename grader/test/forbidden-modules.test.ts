// An exercise's manifest can forbid built-in modules (the web server's: http, https, http2):
// a submission that imports one, or loads modules in a way no bundler can check, does not build,
// and the learner is told which import and why.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleSubmission } from '../src/build/bundle.ts';
import { findExercise } from '../src/catalog/catalog.ts';
import { SubmissionBuildError } from '../src/errors.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'netkata-forbidden-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const FORBIDDEN = ['http', 'https', 'http2'];

/** A submission of these files (src/main.ts among them), bundled with FORBIDDEN forbidden. */
async function bundle(files: Record<string, string>, forbiddenModules = FORBIDDEN): Promise<{ error?: SubmissionBuildError; out: string }> {
  const dir = await mkdtemp(path.join(tmp, 'sub-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  const out = await mkdtemp(path.join(tmp, 'out-'));
  try {
    await bundleSubmission(path.join(dir, 'src', 'main.ts'), out, { forbiddenModules });
    return { out };
  } catch (error) {
    if (!(error instanceof SubmissionBuildError)) throw error;
    return { error, out };
  }
}

const text = (error: SubmissionBuildError | undefined) => `${error?.message}\n${error?.output}`;

describe('forbidden modules', () => {
  test.each([
    ["import used from 'node:http';", 'node:http'],
    ["import * as used from 'https';", 'https'],
    ["import { createServer as used } from 'node:http2';", 'node:http2'],
    ["import { Server as used } from '_http_server';", '_http_server'],
    ["import { createRequire as used } from 'node:module';", 'node:module'],
    ["const used = require('http');", 'http'],
  ])('%s is refused, naming the import and the file', async (line, name) => {
    // Used, or TypeScript drops the import before anything resolves it.
    const { error, out } = await bundle({ 'src/main.ts': `import net from 'node:net';\n${line}\nconsole.log(net, used);\n` });
    expect(error, 'the build fails').toBeDefined();
    expect(text(error)).toContain(`"${name}" is not allowed in this exercise`);
    expect(text(error)).toContain('src/main.ts:2');
    expect(await readdir(out), 'no bundle written').toEqual([]);
  });

  test('an import in another file of the submission is refused there', async () => {
    const { error } = await bundle({ 'src/main.ts': "import './server.ts';\n", 'src/server.ts': "import http from 'node:http';\nconsole.log(http);\n" });
    expect(text(error)).toContain('src/server.ts:1');
  });

  test.each([
    ["const name = 'node:' + 'http'; await import(name);", 'import() of a name computed at run time'],
    ["(process as any).binding('http_parser');", 'process.binding'],
    ["(process as any).getBuiltinModule('node:http');", 'process.getBuiltinModule'],
  ])('%s, which no bundler can check, is refused too', async (line, what) => {
    const { error } = await bundle({ 'src/main.ts': `${line}\n` });
    expect(text(error)).toContain(`uses ${what}`);
    expect(text(error)).toContain('import modules by name');
  });

  test('node:net, node:fs and the rest build, and an exercise without forbidden modules may import http', async () => {
    const allowed =
      "import net from 'node:net';\nimport { createReadStream } from 'node:fs';\nimport path from 'node:path';\nconsole.log(net, createReadStream, path);\n";
    expect((await bundle({ 'src/main.ts': allowed })).error).toBeUndefined();
    expect(
      (await bundle({ 'src/main.ts': "import http from 'node:http';\nconst m = await import('node:' + 'os');\nconsole.log(http, m);\n" }, [])).error,
    ).toBeUndefined();
  });

  test("the web server's manifest forbids http, https and http2, and its starter and reference build under it", async () => {
    const exercise = await findExercise('http-server');
    expect(exercise.manifest.forbiddenModules).toEqual(FORBIDDEN);
    for (const dir of [exercise.exerciseDir, exercise.solutionDir]) {
      const out = await mkdtemp(path.join(tmp, 'out-'));
      await bundleSubmission(path.join(dir, 'src', 'main.ts'), out, { forbiddenModules: exercise.manifest.forbiddenModules });
    }
  });
});
