import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { listExercises } from '../src/catalog/catalog.ts';
import { parseManifest } from '../src/catalog/manifest.ts';
import { parseStages } from '../src/commands/grade.ts';
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
    expect(manifest.limits).toEqual({ memoryMb: 256, cpus: 1, pids: 128, openFiles: 16_384, tmpfsMb: 16, startupTimeoutMs: 10_000, testTimeoutMs: 30_000 });
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

  test('--stages takes numbers and ranges of stages the manifest has', () => {
    const manifest = parseManifest({ ...valid, stages: [1, 2, 3, 4, 5, 6].map((stage) => ({ stage, title: `s${stage}`, points: 5 })) }, 'demo');
    expect([...parseStages('1-3,6', manifest)]).toEqual([1, 2, 3, 6]);
    expect([...parseStages(' 2 , 4-4', manifest)]).toEqual([2, 4]);
    expect(() => parseStages('0-2', manifest)).toThrow('demo has no stage 0 (it has 1 to 6)');
    expect(() => parseStages('7', manifest)).toThrow('no stage 7');
    expect(() => parseStages('1..3', manifest)).toThrow('--stages takes numbers and ranges');
    expect(() => parseStages('3-1', manifest)).toThrow('selects no stage');
  });
});
