import { execFile } from 'node:child_process';
import { InfrastructureError } from '../../errors.ts';

/** The openssl CLI (3.0 on this project's machines); OPENSSL overrides where it lives. */
const opensslPath = process.env.OPENSSL ?? 'openssl';

/**
 * Runs `openssl <args>` in `cwd`. A failure is the grader's (its PKI could not be made), so it
 * carries openssl's own stderr, which names the offending option or file.
 */
export function openssl(args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(opensslPath, args, { cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        reject(new InfrastructureError(`openssl ${args[0]} failed: ${stderr.trim() || error.message}`, { cause: error }));
      } else {
        resolve(stdout);
      }
    });
  });
}
