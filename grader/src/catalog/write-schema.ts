// Writes grader/manifest.schema.json from the zod schema (npm run schema); a test keeps it current.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../paths.ts';
import { manifestSchema } from './manifest.ts';

export const MANIFEST_SCHEMA_FILE = path.join(repoRoot, 'grader', 'manifest.schema.json');

export function manifestJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(manifestSchema, { io: 'input' }), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(MANIFEST_SCHEMA_FILE, manifestJsonSchema());
}
