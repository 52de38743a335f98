import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostGuardInfo } from '../runtime/docker/host-guard.ts';
import { logger } from '../log.ts';

const log = logger('reaper');

const REAPER_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reaper-main.ts');

/** What the grader tells its reaper, one JSON object a line. */
export type ReaperMessage =
  | { readonly workDir: string }
  | { readonly guard: HostGuardInfo }
  /** The grader cleaned up itself: nothing left to do. */
  | { readonly disposed: true };

/**
 * A run's reaper, as testcontainers' Ryuk is one, but a process instead of an image (no image can
 * be pulled here): detached from the grader (its own session, so Ctrl-C in the terminal does not
 * reach it), holding the read end of a pipe whose write end only the grader has. When the grader
 * dies, however it dies (SIGKILL, OOM, a closed terminal), the kernel closes the pipe; the reaper
 * reads end-of-file and removes the run: containers, then the host's firewall rule, then the
 * temporary folder.
 */
export class Reaper {
  private constructor(private readonly child: ChildProcess) {}

  static start(runId: string): Reaper {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), REAPER_MAIN, runId], {
      detached: true,
      stdio: ['pipe', 'ignore', log.enabled ? 'inherit' : 'ignore'],
      env: process.env,
    });
    child.on('error', (error) => log(`Reaper of ${runId} failed: ${error.message}`));
    // Neither the process nor the pipe may keep the grader alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    child.stdin.on('error', () => {});
    log(`Started reaper ${child.pid} for run ${runId}`);
    return new Reaper(child);
  }

  tell(message: ReaperMessage): void {
    if (this.child.stdin?.writable) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** The grader could not remove everything: the reaper tries now, as if the grader had died. */
  handOver(): void {
    this.child.stdin?.end();
  }

  /** The run is gone; the reaper exits without doing anything. */
  release(): void {
    this.tell({ disposed: true });
    this.child.stdin?.end();
  }
}
