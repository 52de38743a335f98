import { z } from 'zod';
import { csvDocument } from './csv.ts';

/** One submission of a class: what `batch` writes beside its reports and `merge` puts together. */
export const gradebookRowSchema = z.strictObject({
  /** The submission's folder name: the row's key, unique in a gradebook. */
  submission: z.string().min(1),
  status: z.enum(['pass', 'fail', 'error']),
  points: z.number().min(0),
  maxPoints: z.number().min(0),
  /** Points per stage ("1" → 10); empty when the grade stopped before any stage. */
  stages: z.record(z.string(), z.number().min(0)),
  seed: z.number().int(),
  /** How the network was made bad (netem, userspace, relay); null when nothing was graded. */
  backend: z.string().nullable(),
  graderVersion: z.string(),
  durationMs: z.number().min(0),
  /** The submission's report files, relative to the gradebook's folder. */
  reports: z.array(z.string()),
  /**
   * sha256 of what decided the grade: the exercise, the grader's version, the seed, the profile,
   * the hidden suite's files and the submission's. `batch --resume` skips a row whose
   * fingerprint is unchanged.
   */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  /** Why there is no grade: the folder holds nothing to grade, or the grader failed on it. */
  error: z.string().optional(),
});

export type GradebookRow = z.infer<typeof gradebookRowSchema>;

/** A class's gradebook (`gradebook.json`): one row per submission, in name order. */
export const gradebookSchema = z.strictObject({
  schemaVersion: z.literal(1),
  exercise: z.string(),
  seed: z.number().int(),
  graderVersion: z.string(),
  /** sha256 of the hidden suite's files: gradebooks of different suites do not merge. */
  suite: z.string().regex(/^[0-9a-f]{64}$/),
  /** The shard this gradebook holds (`--shard 2/4`); absent for a whole class or a merge. */
  shard: z.strictObject({ index: z.number().int().min(1), count: z.number().int().min(1) }).optional(),
  stages: z.array(z.strictObject({ stage: z.number().int().min(1), title: z.string(), maxPoints: z.number().min(0) })),
  rows: z.array(gradebookRowSchema),
});

export type Gradebook = z.infer<typeof gradebookSchema>;

/** A gradebook's rows in submission-name order (code-unit order, the same on every machine). */
export function inNameOrder(rows: readonly GradebookRow[]): GradebookRow[] {
  return [...rows].sort((a, b) => (a.submission < b.submission ? -1 : a.submission > b.submission ? 1 : 0));
}

export const GRADEBOOK_FILE = 'gradebook.json';
export const GRADEBOOK_CSV = 'gradebook.csv';

/** The gradebook's JSON Schema (grader/gradebook.schema.json, kept current by a test). */
export function gradebookJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(gradebookSchema), null, 2)}\n`;
}

/** A spreadsheet of the gradebook: one line per submission, a column per stage. */
export function gradebookCsv(book: Gradebook): string {
  const header = [
    'submission',
    'status',
    'points',
    'max_points',
    ...book.stages.map((s) => `stage_${s.stage}`),
    'seed',
    'backend',
    'grader_version',
    'reports',
    'error',
  ];
  return csvDocument(
    header,
    book.rows.map((row) => [
      row.submission,
      row.status,
      row.points,
      row.maxPoints,
      ...book.stages.map((s) => row.stages[String(s.stage)] ?? null),
      row.seed,
      row.backend,
      row.graderVersion,
      row.reports.join(' '),
      row.error ?? null,
    ]),
  );
}
