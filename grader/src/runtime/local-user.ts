import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors.ts';
import type { LocalUser } from './context.ts';

/**
 * The user `--run-as NAME` names, by `id` (names from /etc/passwd, LDAP or whatever the machine
 * uses). Switching to it needs root, and running a submission as root is what it avoids.
 */
export async function resolveLocalUser(name: string): Promise<LocalUser> {
  if (process.getuid?.() !== 0) throw new ConfigError(`--run-as ${name} starts the submission as another user, which needs the grader to run as root`);
  const id = async (flag: '-u' | '-g') => {
    try {
      return Number((await promisify(execFile)('id', [flag, '--', name])).stdout.trim());
    } catch {
      throw new ConfigError(`--run-as ${name}: this machine has no such user (create one, e.g. useradd --system --no-create-home ${name})`);
    }
  };
  const [uid, gid] = [await id('-u'), await id('-g')];
  if (uid === 0) throw new ConfigError(`--run-as ${name} is root: name an unprivileged user, so the submission cannot write the grader's results`);
  if (gid === 0)
    throw new ConfigError(
      `--run-as ${name} has root's group as its own: name a user of an unprivileged group, or group-readable root files are the submission's`,
    );
  return { name, uid, gid };
}

/**
 * Whether `user` can reach the folder at `dir` by its mode bits: every folder on its real path,
 * itself included, lets the user through (x). Listing is not needed to read a file whose name
 * is known, and a hidden suite's names are public. Root-owned folders of an autograder's source
 * are the case this is for; ACLs are not looked at.
 */
export async function readableBy(dir: string, user: LocalUser): Promise<boolean> {
  const allows = async (folder: string, bits: number) => {
    const info = await stat(folder);
    const shift = info.uid === user.uid ? 6 : info.gid === user.gid ? 3 : 0;
    return ((info.mode >> shift) & bits) === bits;
  };
  let resolved: string;
  try {
    resolved = await realpath(dir);
  } catch {
    return false;
  }
  const above: string[] = [];
  for (let at = path.dirname(resolved); ; at = path.dirname(at)) {
    above.push(at);
    if (at === path.dirname(at)) break;
  }
  try {
    for (const folder of above) if (!(await allows(folder, 0o1))) return false;
    return await allows(resolved, 0o1);
  } catch {
    return false;
  }
}

/**
 * Kills every process of `user` (never root, never the grader's own user: resolveLocalUser
 * refuses those): what a submission left behind, even one that left its process group with
 * setsid. Under --run-as the user is the submission's alone, so nothing else is hit.
 */
export async function killProcessesOf(user: LocalUser): Promise<number> {
  if (user.uid === 0 || user.uid === process.getuid?.()) throw new Error(`refusing to kill the processes of uid ${user.uid}`);
  let killed = 0;
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    // Uid: real, effective, saved, filesystem.
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (!uids || (Number(uids[1]) !== user.uid && Number(uids[2]) !== user.uid)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // gone already
    }
  }
  return killed;
}
