import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The project's own tests, in two projects. Hidden suites (grader/suites) and fixtures are not
// run directly: the tests here run them through the netkata CLI, as learners and instructors do.
//
// `fast`: what a contributor runs on every change (`npm run test:fast`), under a minute, with no
// Docker engine: DOCKER_HOST points nowhere, so a test that reaches for one fails instead of
// quietly slowing the project down. `integration`: everything else (grades in containers, the
// local runtime end to end, the CLI's loops), with the leak check around it. A new test file is
// integration until it is listed here.
const FAST = [
  'artifact-files',
  'batch-gradebook',
  'bytes',
  'calibrate',
  'calibration-cache',
  'engine-location',
  'files',
  'forbidden-modules',
  'harness-caps',
  'hint',
  'live-progress',
  'load-balancer-backend',
  'manifest',
  'profiles',
  'relay',
  'report-formats',
  'repository',
  'scoring',
  'tls-zoo',
  'verify',
  'workshop',
].map((name) => `grader/test/${name}.test.ts`);

// The exercise check (grader/test/exercise-check.test.ts) once per exercise, each its own
// project so vitest schedules them like separate files: one per exercises/NN-id folder, so a new
// exercise is checked with no change here.
const CHECK = 'grader/test/exercise-check.test.ts';
const EXERCISES = readdirSync(path.join(import.meta.dirname, 'exercises'))
  .map((folder) => /^\d{2}-([a-z][a-z0-9-]*)$/.exec(folder)?.[1])
  .filter((id): id is string => id !== undefined);

export default defineConfig({
  test: {
    exclude: ['grader/test/fixtures/**', 'node_modules/**'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    // The tests grade exercises/ itself: their results are not the developer's progress.
    // Calibrations: a scratch cache per test run, shared by its grades (the first of a profile
    // calibrates in full, later ones re-verify), never the developer's.
    env: {
      NETKATA_PROGRESS_FILE: path.join(os.tmpdir(), `netkata-test-progress-${process.pid}.json`),
      NETKATA_CACHE_DIR: path.join(os.tmpdir(), `netkata-test-cache-${process.pid}`),
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: FAST,
          env: { DOCKER_HOST: 'unix:///nonexistent/netkata-fast-tests-use-no-docker.sock' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['grader/test/**/*.test.ts'],
          exclude: [...FAST, CHECK, 'grader/test/fixtures/**', 'node_modules/**'],
          // Fails the run if grading left anything behind.
          globalSetup: ['grader/test/leak-check.global.ts'],
        },
      },
      ...EXERCISES.map((id) => ({
        extends: true as const,
        test: {
          name: `check:${id}`,
          include: [CHECK],
          env: { NETKATA_CHECK_EXERCISE: id },
          globalSetup: ['grader/test/leak-check.global.ts'],
        },
      })),
    ],
  },
});
