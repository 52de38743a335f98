import { access } from 'node:fs/promises';
import path from 'node:path';
import { NotASubmissionError } from '../errors.ts';

/** A directory the learner hands in: TypeScript (src/main.ts) or anything with a Dockerfile. */
export type Submission =
  | { readonly kind: 'typescript'; readonly dir: string; readonly entry: string }
  | { readonly kind: 'dockerfile'; readonly dir: string; readonly dockerfile: string };

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

export async function resolveSubmission(dir: string): Promise<Submission> {
  const absolute = path.resolve(dir);
  const dockerfile = path.join(absolute, 'Dockerfile');
  if (await exists(dockerfile)) return { kind: 'dockerfile', dir: absolute, dockerfile };
  const entry = path.join(absolute, 'src', 'main.ts');
  if (await exists(entry)) return { kind: 'typescript', dir: absolute, entry };
  throw new NotASubmissionError(`${absolute} is not a submission: it has neither src/main.ts nor a Dockerfile`);
}
