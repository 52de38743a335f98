import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { GRADEBOOK_FILE, gradebookSchema, inNameOrder, type Gradebook } from '../report/gradebook.ts';
import { isDirectory } from '../catalog/catalog.ts';
import { visibleLine } from '../sanitize.ts';
import { writeGradebook } from './batch.ts';

/**
 * `netkata merge shard-*\/gradebook.json --output DIR`: the shards of one class (a CI matrix's
 * jobs) as one gradebook. They must be one batch: the same exercise, seed, grader version and
 * hidden suite and stages, or their points would not compare; a submission in two of them is an error, as
 * is a shard missing when the inputs say how many there are. Report links are rewritten to be
 * relative to the merged gradebook's folder.
 */
export async function mergeGradebooks(files: readonly string[], outputDir: string): Promise<Gradebook> {
  if (files.length === 0) throw new ConfigError('usage: netkata merge <gradebook.json>... --output DIR');
  const books = await Promise.all(
    files.map(async (file) => {
      const resolved = (await isDirectory(file)) ? path.join(file, GRADEBOOK_FILE) : file;
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(resolved, 'utf8'));
      } catch (error) {
        throw new ConfigError(`${resolved}: not a gradebook (${(error as Error).message})`);
      }
      const book = gradebookSchema.safeParse(parsed);
      if (!book.success)
        throw new ConfigError(
          `${resolved}: not a netkata gradebook: ${book.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
        );
      return { file: resolved, book: book.data };
    }),
  );
  const first = books[0]!;
  for (const { file, book } of books.slice(1)) {
    for (const key of ['exercise', 'seed', 'graderVersion', 'suite'] as const) {
      if (book[key] !== first.book[key])
        throw new ConfigError(
          `${file} and ${first.file} are not one batch: ${key} ${visibleLine(String(book[key]))} against ${visibleLine(String(first.book[key]))}; grade every shard with the same netkata, suite and --seed`,
        );
    }
    const stages = (b: Gradebook) => b.stages.map((s) => s.stage).join(',');
    if (stages(book) !== stages(first.book))
      throw new ConfigError(
        `${file} and ${first.file} are not one batch: stages ${stages(book)} against ${stages(first.book)}; grade every shard with the same --stages`,
      );
  }
  const counts = new Set(books.map((b) => b.book.shard?.count));
  if (counts.size > 1)
    throw new ConfigError(
      `these gradebooks are not shards of one split (${[...counts].map((c) => (c === undefined ? 'a whole batch' : `shards of ${c}`)).join(', ')}): merge the shards of one --shard i/n`,
    );
  if (first.book.shard) {
    const have = new Set(books.map((b) => b.book.shard!.index));
    const missing = Array.from({ length: first.book.shard.count }, (_, i) => i + 1).filter((i) => !have.has(i));
    if (missing.length > 0) throw new ConfigError(`shard ${missing.join(', ')} of ${first.book.shard.count} is missing: merge every shard's gradebook`);
    if (have.size !== books.length) throw new ConfigError('a shard is given twice');
  }
  const rows = books.flatMap(({ file, book }) =>
    book.rows.map((row) => ({ ...row, reports: row.reports.map((r) => path.relative(outputDir, path.resolve(path.dirname(file), r))) })),
  );
  const names = rows.map((r) => r.submission);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new ConfigError(`submission "${visibleLine(twice)}" is in two of these gradebooks: each must be graded in one shard`);
  const { shard: _shard, ...rest } = first.book;
  const merged: Gradebook = { ...rest, rows: inNameOrder(rows) };
  await mkdir(outputDir, { recursive: true });
  await writeGradebook(outputDir, merged);
  return merged;
}
