/** Callers waiting for "something happened" on a socket; each wakes and checks its own condition. */
export class Wakeups {
  private readonly waiters = new Set<() => void>();

  /** Wakes everyone waiting now. */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves at the next wake() or after `timeoutMs`, whichever comes first. */
  next(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.ceil(timeoutMs)));
      this.waiters.add(done);
    });
  }
}
