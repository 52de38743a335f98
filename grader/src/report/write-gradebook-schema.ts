// Writes grader/gradebook.schema.json from the zod schema (npm run schema); a test keeps it current.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../paths.ts';
import { gradebookJsonSchema } from './gradebook.ts';

export const GRADEBOOK_SCHEMA_FILE = path.join(repoRoot, 'grader', 'gradebook.schema.json');

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(GRADEBOOK_SCHEMA_FILE, gradebookJsonSchema());
}
