/** Cleanup steps registered as resources are created, run once in reverse order (also on Ctrl-C). */
export class Teardown {
  private readonly steps: Array<() => Promise<void>> = [];
  private running: Promise<void> | undefined;

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step();
        } catch (error) {
          process.stderr.write(`netkata: cleanup step failed: ${(error as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }
}
