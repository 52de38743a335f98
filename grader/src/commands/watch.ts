import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { emitKeypressEvents } from 'node:readline';
import { notice } from '../log.ts';

const DEBOUNCE_MS = 150;
/** Where file watching is not available (inotify exhausted, some network file systems): look this often. */
const POLL_MS = 500;
const IGNORED = /(^|[/\\])(node_modules|\.git|\.netkata)([/\\]|$)/;

/** What a key asks the loop to do; `run` runs the visible tests again. */
type WatchAction = 'run' | 'hint' | 'grade' | 'list' | 'quit';

const KEYS: Record<string, WatchAction> = { h: 'hint', g: 'grade', l: 'list', q: 'quit', r: 'run', return: 'run' };

const KEY_HELP = 'keys: h hint · g grade in Docker · l list · r run again · q quit';

export interface WatchOptions {
  /** Called for each key but `run` and `quit`; it may move the loop to other folders (see `dirs`). */
  readonly onKey?: (action: Exclude<WatchAction, 'run' | 'quit'>) => Promise<void>;
  /** Check for changes by polling instead of file watching (`NETKATA_WATCH=poll`). */
  readonly poll?: boolean;
}

/** Size and modification time of every file under `dir`: what polling compares. */
async function signature(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const parts: string[] = [];
  for (const entry of entries) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || IGNORED.test(path.relative(dir, file))) continue;
    const s = await stat(file).catch(() => undefined);
    if (s) parts.push(`${file}:${s.size}:${s.mtimeMs}`);
  }
  return parts.sort().join('\n');
}

/**
 * Calls `changed` whenever a file under `dirs` changes: fs.watch where it works, polling where
 * it fails (said once, with the reason). Returns a function that stops watching.
 */
function watchDirs(dirs: readonly string[], changed: () => void, poll: boolean): () => void {
  let timer: NodeJS.Timeout | undefined;
  const debounced = () => {
    clearTimeout(timer);
    timer = setTimeout(changed, DEBOUNCE_MS);
  };
  const watchers: FSWatcher[] = [];
  let pollReason = poll ? 'NETKATA_WATCH=poll' : undefined;
  if (!poll) {
    try {
      for (const dir of dirs) {
        const watcher = watch(dir, { recursive: true }, (_event, file) => {
          if (file && IGNORED.test(String(file))) return;
          debounced();
        });
        // inotify can also fail later (a watch limit reached as folders appear).
        watcher.on('error', (error) => notice(`file watching stopped (${error.message}); save again, or restart with NETKATA_WATCH=poll`));
        watchers.push(watcher);
      }
    } catch (error) {
      for (const w of watchers) w.close();
      watchers.length = 0;
      pollReason = (error as Error).message;
    }
  }
  if (pollReason === undefined) return () => watchers.forEach((w) => w.close());
  notice(`file watching is not available (${pollReason}): checking for changes every ${POLL_MS} ms instead`);
  let last: Promise<string[]> = Promise.all(dirs.map(signature));
  const interval = setInterval(() => {
    void last
      .then(async (before) => {
        const now = await Promise.all(dirs.map(signature));
        if (now.some((s, i) => s !== before[i])) debounced();
        return now;
      })
      .then((now) => (last = Promise.resolve(now)));
  }, POLL_MS);
  return () => clearInterval(interval);
}

/**
 * Keys from the terminal, one action each: raw keypresses on a TTY, or one letter per line
 * when stdin is a pipe (scripts, tests). Nothing when stdin is closed or ignored.
 */
function readKeys(onAction: (action: WatchAction) => void): () => void {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    emitKeypressEvents(stdin);
    stdin.setRawMode(true);
    const onKey = (_text: string, key: { name?: string; ctrl?: boolean } | undefined) => {
      // Raw mode swallows Ctrl-C: turn it back into the signal the CLI cleans up on.
      if (key?.ctrl && key.name === 'c') return void process.kill(process.pid, 'SIGINT');
      const action = key?.name ? KEYS[key.name] : undefined;
      if (action) onAction(action);
    };
    stdin.on('keypress', onKey);
    return () => {
      stdin.off('keypress', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    };
  }
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim().toLowerCase();
      buffered = buffered.slice(newline + 1);
      const action = KEYS[line === '' ? 'return' : line];
      if (action) onAction(action);
    }
  };
  stdin.on('data', onData);
  return () => {
    stdin.off('data', onData);
    stdin.pause();
  };
}

/**
 * The learner's loop (rustlings' watch): run, then wait for a file under `dirs()` to change or a
 * key, and act. Changes during a run queue one more run. Ends with `q` or Ctrl-C. `dirs` is
 * asked again after each key, so a key handler can move the loop to the next exercise.
 */
export async function watchAndRerun(dirs: () => readonly string[], run: () => Promise<void>, options: WatchOptions = {}): Promise<number> {
  let wake: (() => void) | undefined;
  const queue: WatchAction[] = [];
  const push = (action: WatchAction) => {
    if (!queue.includes(action)) queue.push(action);
    wake?.();
  };
  // While a run is under way its own handlers clean up and exit; between runs there is nothing to clean.
  let running = false;
  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
  ] as const) {
    process.on(signal, () => {
      if (!running) process.exit(128 + number);
    });
  }
  const stopKeys = readKeys(push);
  let watching = dirs();
  let stopWatching = watchDirs(watching, () => push('run'), options.poll === true);
  try {
    queue.push('run');
    for (;;) {
      let action = queue.shift();
      if (!action) {
        await new Promise<void>((resolve) => (wake = () => resolve()));
        wake = undefined;
        action = queue.shift()!;
      }
      if (action === 'quit') return 0;
      running = true;
      try {
        if (action === 'run') await run();
        else await options.onKey?.(action);
      } finally {
        running = false;
      }
      const now = dirs();
      if (now.join('\0') !== watching.join('\0')) {
        stopWatching();
        watching = now;
        stopWatching = watchDirs(watching, () => push('run'), options.poll === true);
        if (!queue.includes('run')) queue.push('run');
      }
      if (queue.length === 0) notice(`watching ${watching.join(', ')} for changes; ${KEY_HELP} (Ctrl-C stops too)`);
    }
  } finally {
    stopWatching();
    stopKeys();
  }
}
