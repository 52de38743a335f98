// The result formats of other graders, as zod schemas written from their specifications: what
// the reporter tests check netkata's files against.
import { z } from 'zod';

/**
 * Exercism's test-runner interface (exercism.org/docs/building/tooling/test-runners/interface),
 * version 3: as zod, field by field.
 */
const exercismTest = z.strictObject({
  name: z.string().min(1),
  test_code: z.string().min(1),
  status: z.enum(['pass', 'fail', 'error']),
  message: z.string().nullable().optional(),
  output: z.string().max(500).nullable().optional(),
  task_id: z.number().int().min(1).optional(),
});
export const exercismResults = z
  .strictObject({
    version: z.literal(3),
    status: z.enum(['pass', 'fail', 'error']),
    message: z.string().max(65_535).nullable().optional(),
    tests: z.array(exercismTest).optional(),
  })
  .superRefine((results, ctx) => {
    if (results.status === 'error' && !results.message) ctx.addIssue({ code: 'custom', message: 'status error needs a message' });
    if (results.status !== 'error' && results.message) ctx.addIssue({ code: 'custom', message: 'a message only with status error' });
    if (results.status !== 'error' && !results.tests) ctx.addIssue({ code: 'custom', message: 'pass and fail need tests' });
    for (const t of results.tests ?? [])
      if (t.status !== 'pass' && !t.message) ctx.addIssue({ code: 'custom', message: `${t.name}: fail and error need a message` });
    const anyFailed = (results.tests ?? []).some((t) => t.status !== 'pass');
    if (results.status === 'pass' && anyFailed) ctx.addIssue({ code: 'custom', message: 'pass with a failing test' });
    if (results.status === 'fail' && !anyFailed) ctx.addIssue({ code: 'custom', message: 'fail with every test passing' });
  });

/** Gradescope's autograder results.json (gradescope-autograders.readthedocs.io, "Autograder Specifications"). */
export const gradescopeResults = z.strictObject({
  score: z.number(),
  execution_time: z.number().int().min(0),
  output: z.string(),
  output_format: z.enum(['text', 'html', 'simple_format', 'md', 'ansi']),
  test_output_format: z.enum(['text', 'html', 'simple_format', 'md', 'ansi']),
  visibility: z.enum(['hidden', 'after_due_date', 'after_published', 'visible']),
  stdout_visibility: z.enum(['hidden', 'after_due_date', 'after_published', 'visible']),
  tests: z.array(
    z.strictObject({
      name: z.string().min(1),
      number: z.string(),
      score: z.number().min(0),
      max_score: z.number().min(0),
      status: z.enum(['passed', 'failed']),
      output: z.string(),
      tags: z.array(z.string()),
      visibility: z.enum(['hidden', 'after_due_date', 'after_published', 'visible']),
    }),
  ),
});
