import { GraderError } from './errors.ts';

/** A command was interrupted (Ctrl-C, SIGTERM, SIGHUP) while it was still setting up. */
export class InterruptedError extends GraderError {
  override readonly code = 'NETKATA_INTERRUPTED';
}

/**
 * What a command holds open (its runs), disposed once: when the command ends, or on a signal.
 * Each resource disposes of its own parts in its own order (StartedRun does); this only makes
 * sure nothing held is forgotten.
 */
export class Lifetime {
  private readonly held: AsyncDisposable[] = [];
  private disposing: Promise<void> | undefined;

  get ended(): boolean {
    return this.disposing !== undefined;
  }

  hold<T extends AsyncDisposable>(resource: T): T {
    if (this.disposing) throw new InterruptedError('interrupted: not starting anything new');
    this.held.push(resource);
    return resource;
  }

  /** Forget a resource that disposed of itself (a batch's finished runs). */
  release(resource: AsyncDisposable): void {
    const index = this.held.indexOf(resource);
    if (index >= 0) this.held.splice(index, 1);
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      // After Ctrl-C in a terminal the test workers are dead and the cleanup may wait on nothing
      // that holds the event loop: without this, Node would exit (0) in the middle of it.
      const keepAlive = setInterval(() => {}, 1_000);
      try {
        for (const resource of this.held.reverse()) {
          try {
            await resource[Symbol.asyncDispose]();
          } catch (error) {
            process.stderr.write(`netkata: cleanup failed: ${(error as Error).message}\n`);
          }
        }
      } finally {
        clearInterval(keepAlive);
      }
    })();
    return this.disposing;
  }
}
