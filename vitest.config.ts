import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The project's own tests. Hidden suites (grader/suites) and fixtures are not run directly:
// the tests here run them through the netkata CLI, as learners and instructors do.
export default defineConfig({
  test: {
    include: ['grader/test/**/*.test.ts'],
    // Fails the run if grading left anything behind.
    globalSetup: ['grader/test/leak-check.global.ts'],
    exclude: ['grader/test/fixtures/**', 'node_modules/**'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    // The tests grade exercises/ itself: their results are not the developer's progress.
    env: { NETKATA_PROGRESS_FILE: path.join(os.tmpdir(), `netkata-test-progress-${process.pid}.json`) },
  },
});
