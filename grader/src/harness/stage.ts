import type { TestOptions } from 'vitest';

/**
 * Test options that tag a test with its stage and points, read back by the reporter via
 * `testCase.meta()`: `test('echoes', stage(1, 5), async () => ...)`.
 */
export function stage(stage: number, points: number, options: Omit<TestOptions, 'meta'> = {}): TestOptions {
  return { ...options, meta: { stage, points } };
}
