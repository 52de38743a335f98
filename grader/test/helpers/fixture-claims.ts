// What each fixture submission of an exercise proves, declared next to it in `fixture.json`, so
// the exercise check (exercise-check.test.ts) is one table: a new variant is a folder and a
// claim, with no test code. A folder under grader/test/fixtures/<exercise>/ without a claim is an
// error, never skipped.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../../src/paths.ts';

export const CLAIM_FILE = 'fixture.json';

const why = z.string().min(10, 'say what the fixture does wrong (or right), in a sentence');

export const claimSchema = z.discriminatedUnion('expect', [
  // A faulty variant: fails this stage and passes every stage before it.
  z.strictObject({
    expect: z.literal('fails-stage'),
    stage: z.number().int().min(1),
    why,
    // Graded under this profile instead of the manifest's, where what it breaks shows on any link.
    profile: z.string().optional(),
    // The test of that stage that catches it (a part of its name): the check then grades the
    // stage by that test alone, where the tests before it in the stage would cost a minute.
    test: z.string().min(10).optional(),
  }),
  // Another correct design (a C server, a process per connection): passes every stage.
  z.strictObject({ expect: z.literal('passes'), why }),
  // Fails to build, and the report says so in the learner's terms.
  z.strictObject({ expect: z.literal('build-error'), why, message: z.string().min(1) }),
  // Its bug cannot show on the grader's images; the named test catches it elsewhere.
  z.strictObject({ expect: z.literal('proved-elsewhere'), why, by: z.string().regex(/^grader\/test\/[\w-]+\.test\.ts$/) }),
]);

export type FixtureClaim = z.infer<typeof claimSchema>;

export interface ClaimedFixture {
  readonly name: string;
  readonly dir: string;
  readonly claim: FixtureClaim;
}

export const fixturesOf = (exercise: string) => path.join(repoRoot, 'grader', 'test', 'fixtures', exercise);

/** Every fixture folder of an exercise with its parsed claim; throws naming the folder whose claim is missing or wrong. */
export async function claimedFixtures(exercise: string): Promise<ClaimedFixture[]> {
  const root = fixturesOf(exercise);
  const entries = await readdir(root).catch(() => []);
  const fixtures: ClaimedFixture[] = [];
  for (const name of entries.sort()) {
    const dir = path.join(root, name);
    if (!(await stat(dir)).isDirectory()) continue;
    let text: string;
    try {
      text = await readFile(path.join(dir, CLAIM_FILE), 'utf8');
    } catch {
      throw new Error(`${path.relative(repoRoot, dir)} has no ${CLAIM_FILE}: declare what it proves (see grader/test/helpers/fixture-claims.ts)`);
    }
    const parsed = claimSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(
        `${path.relative(repoRoot, dir)}/${CLAIM_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
    fixtures.push({ name, dir, claim: parsed.data });
  }
  return fixtures;
}

/** The claim as a test's name says it: `fails stage 3 and passes the stages before it`. */
export function describeClaim(claim: FixtureClaim): string {
  switch (claim.expect) {
    case 'fails-stage':
      return `fails stage ${claim.stage}${claim.test ? ` at "${claim.test}"` : ''} and passes the stages before it${claim.profile ? ` (under ${claim.profile})` : ''}`;
    case 'passes':
      return "passes every stage under the manifest's profiles";
    case 'build-error':
      return "fails to build, and the report gives the compiler's message";
    case 'proved-elsewhere':
      return `is caught by ${claim.by}`;
  }
}
