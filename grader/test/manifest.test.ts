import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { listExercises } from '../src/catalog/catalog.ts';
import { parseManifest } from '../src/catalog/manifest.ts';
import { MANIFEST_SCHEMA_FILE, manifestJsonSchema } from '../src/catalog/write-schema.ts';

const valid = {
  id: 'demo',
  title: 'Demo',
  summary: 'A demo.',
  difficulty: 'easy',
  kind: 'server',
  transport: 'tcp',
  stages: [{ stage: 1, title: 'one', points: 5 }],
};

describe('manifest', () => {
  test('fills defaults in one place', () => {
    const manifest = parseManifest(valid, 'demo');
    expect(manifest.limits).toEqual({ memoryMb: 256, cpus: 1, pids: 128, tmpfsMb: 16, startupTimeoutMs: 10_000, testTimeoutMs: 30_000 });
    expect(manifest.stages[0]?.profiles).toEqual(['clean']);
  });

  test('rejects a typo, naming the field', () => {
    expect(() => parseManifest({ ...valid, limit: {} }, 'demo')).toThrow(/invalid manifest demo: \(root\): Unrecognized key: "limit"/);
    expect(() => parseManifest({ ...valid, stages: [{ stage: 1, title: 'one', points: '5' }] }, 'demo')).toThrow(/stages\.0\.points/);
  });

  test('rejects stages out of order', () => {
    expect(() => parseManifest({ ...valid, stages: [{ stage: 2, title: 'two', points: 1 }] }, 'demo')).toThrow(/numbered 1, 2, 3/);
  });

  test('every exercise in the repository has a valid manifest matching its folder', async () => {
    const exercises = await listExercises();
    expect(exercises.map((e) => e.manifest.id)).toContain('echo-server');
  });

  test('grader/manifest.schema.json is generated from the zod schema and current (npm run schema)', async () => {
    expect(await readFile(MANIFEST_SCHEMA_FILE, 'utf8')).toBe(manifestJsonSchema());
  });
});
