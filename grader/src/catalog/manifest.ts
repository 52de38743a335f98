import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, formatIssues } from '../errors.ts';
import { BUILTIN_PROFILE_NAMES } from '../impairment/profile.ts';

export const MANIFEST_FILE = 'manifest.json';

const slug = z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes');

const stageSchema = z.strictObject({
  stage: z.int().positive(),
  title: z.string().min(1),
  /** Points for the whole stage; the hidden tests tagged with this stage must add up to it. */
  points: z.int().nonnegative(),
  /** The first rung of the hint ladder: a nudge, shown under a failing stage. */
  hint: z.string().optional(),
  /** The rungs after `hint`, for `netkata hint`: a more concrete pointer, then the man page or RFC section. */
  hints: z.array(z.string().min(1)).max(4).optional(),
  /**
   * Scored whatever earlier stages did (under `--all`), and run even after an earlier stage
   * failed: for a stage that tests something the earlier ones do not build on.
   */
  independent: z.boolean().default(false),
  /** Impairment profiles this stage runs under (names from the profile catalog). */
  profiles: z
    .array(
      z.enum(BUILTIN_PROFILE_NAMES as [string, ...string[]], {
        error: (issue) => `no impairment profile "${String(issue.input)}" (there are ${BUILTIN_PROFILE_NAMES.join(', ')})`,
      }),
    )
    .min(1)
    .default(['clean']),
});

export const limitsSchema = z.strictObject({
  memoryMb: z.int().min(32).max(4096).default(256),
  cpus: z.number().positive().max(8).default(1),
  pids: z.int().min(8).max(4096).default(128),
  /**
   * Open files (sockets included), soft and hard alike: set, so a C server gets the same limit on
   * every engine (engines differ: 1,024 soft on some, a million on others).
   */
  openFiles: z.int().min(64).max(65_536).default(16_384),
  tmpfsMb: z.int().min(1).max(1024).default(16),
  startupTimeoutMs: z.int().positive().max(120_000).default(10_000),
  testTimeoutMs: z.int().positive().max(600_000).default(30_000),
});

export const manifestSchema = z.strictObject({
  $schema: z.string().optional(),
  id: slug,
  title: z.string().min(1),
  summary: z.string().min(1),
  difficulty: z.enum(['intro', 'easy', 'medium', 'hard']),
  kind: z.enum(['server', 'client']),
  transport: z.enum(['tcp', 'udp']),
  limits: limitsSchema.prefault({}),
  /**
   * Node built-in modules a TypeScript submission may not import, because writing what they do is
   * the exercise (a web server's: http, https, http2). Refused when the submission is bundled.
   */
  /**
   * The grader's images (containers/NAME) this exercise's peers run in besides the Node one, e.g.
   * http-peer (nginx and wrk): built, when missing, as the run starts.
   */
  peerImages: z.array(slug).default([]),
  forbiddenModules: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a built-in module name without node:, e.g. http')).default([]),
  stages: z
    .array(stageSchema)
    .min(1)
    .refine((stages) => stages.every((s, i) => s.stage === i + 1), 'stages are numbered 1, 2, 3... in order'),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type Limits = z.infer<typeof limitsSchema>;

export function parseManifest(data: unknown, source: string): Manifest {
  const result = manifestSchema.safeParse(data);
  if (!result.success) throw new ConfigError(`invalid manifest ${source}: ${formatIssues(result.error)}`);
  return result.data;
}

export async function loadManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read manifest ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid JSON in ${file}: ${(error as Error).message}`);
  }
  return parseManifest(data, file);
}
