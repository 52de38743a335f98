import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open } from 'node:fs/promises';
import path from 'node:path';

/**
 * A failed test's artifacts (`grade --artifacts DIR`): one folder per failed test under DIR,
 * named by artifactFolderName. Paths are as the grader wrote them (DIR as given, joined).
 */
export interface TestArtifacts {
  /** The test's folder. */
  readonly dir: string;
  /** What the test sent and received, as the report's transcript shows it. */
  readonly transcript?: string;
  /** The transcript as a self-contained HTML page: a lane per connection, bytes each way over time. */
  readonly timeline?: string;
  /** Everything the submission printed, stdout and stderr interleaved, bounded and made visible. */
  readonly log?: string;
  /** The test's packets on the submission's interface, a classic libpcap file (`tcpdump -r`). */
  readonly pcap?: string;
  /** Why one of them is missing (the local runtime has no packet capture; a capture that failed). */
  readonly missing?: readonly string[];
}

/** A folder name's readable part at most this long; a hash of the whole name follows it. */
const MAX_NAME_CHARS = 80;

/**
 * The folder name for one test's artifacts. Test names, file names and profiles may come from an
 * instructor's suite, and are treated as hostile: only ASCII letters, digits, `.`, `_` and `-`
 * survive (anything else, path separators and control characters included, becomes `-`), it
 * has no `..` and cannot start with a dot or a dash (no `.`, `..`, hidden folder or option), it is bounded, and a hash of the
 * test's full identity keeps two tests that read alike apart.
 */
export function artifactFolderName(test: { readonly file: string; readonly name: string; readonly profile?: string; readonly stage?: number }): string {
  const identity = [test.file, test.name, test.profile ?? '', String(test.stage ?? '')].join('\0');
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 10);
  const readable = [test.stage === undefined ? '' : `stage${test.stage}`, test.name, test.profile && test.profile !== 'clean' ? test.profile : '']
    .filter(Boolean)
    .join('-')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, MAX_NAME_CHARS)
    .replace(/[.-]+$/, '');
  return readable ? `${readable}-${hash}` : hash;
}

/**
 * Writes `files` (name to content) into `root/folder`, and returns each one's path. The folder
 * and files are created without following links, so a link planted there (by a submission run
 * on the local runtime, say) cannot make the grader write elsewhere: such a write fails instead.
 */
export async function writeArtifactFiles(root: string, folder: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<Record<string, string>> {
  if (folder === '' || folder !== path.basename(folder) || folder === '.' || folder === '..' || folder.includes('\0'))
    throw new Error(`not a folder name: ${JSON.stringify(folder)}`);
  const dir = path.join(root, folder);
  await mkdir(dir, { recursive: false }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new Error(`${dir} exists and is not a folder`);
  const written: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    if (name !== path.basename(name) || name.startsWith('.')) throw new Error(`not a file name: ${JSON.stringify(name)}`);
    const file = path.join(dir, name);
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    written[name] = file;
  }
  return written;
}
