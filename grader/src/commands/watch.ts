import { watch, type FSWatcher } from 'node:fs';
import { notice } from '../log.ts';

const DEBOUNCE_MS = 150;

/**
 * The learner's loop (rustlings' watch): run, then wait for a file under `dirs` to change, run
 * again. Changes during a run queue one more run. Ends only with Ctrl-C.
 */
export async function watchAndRerun(dirs: readonly string[], run: () => Promise<void>): Promise<never> {
  let changed: (() => void) | undefined;
  let pending = false;
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = dirs.map((dir) =>
    watch(dir, { recursive: true }, (_event, file) => {
      if (file && /(^|[/\\])(node_modules|\.git)([/\\]|$)/.test(String(file))) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        pending = true;
        changed?.();
      }, DEBOUNCE_MS);
    }),
  );
  process.once('exit', () => watchers.forEach((w) => w.close()));
  // While a run is under way its own handlers clean up and exit; between runs there is nothing to clean.
  let running = false;
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.on(signal, () => {
      if (!running) process.exit(128 + number);
    });
  }
  for (;;) {
    pending = false;
    running = true;
    await run();
    running = false;
    if (!pending) {
      notice(`watching ${dirs.join(', ')} for changes (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => (changed = resolve));
      changed = undefined;
    }
  }
}
