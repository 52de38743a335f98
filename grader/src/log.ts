import { visibleText } from './sanitize.ts';

/**
 * Namespaced diagnostics on stderr, enabled with DEBUG=netkata* (or a list such as
 * DEBUG=netkata:docker,netkata:images). stdout is reserved for reports.
 */
export interface Logger {
  (message: string): void;
  readonly enabled: boolean;
}

function matches(namespace: string, pattern: string): boolean {
  const source = pattern
    .trim()
    .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*');
  return source !== '' && new RegExp(`^${source}$`).test(namespace);
}

export function logger(name: string): Logger {
  const namespace = `netkata:${name}`;
  const patterns = (process.env.DEBUG ?? '').split(',');
  const enabled = patterns.some((p) => matches(namespace, p));
  const log = ((message: string) => {
    if (enabled) process.stderr.write(`${new Date().toISOString()} ${namespace} ${message}\n`);
  }) as Logger;
  Object.defineProperty(log, 'enabled', { value: enabled });
  return log;
}

/**
 * One-line notices the user should always see (fallbacks, progress), on stderr. They may name a
 * submission's folder or quote its files: shown visibly, so no escape sequence reaches the terminal.
 */
export function notice(message: string): void {
  process.stderr.write(`netkata: ${visibleText(message, { maxLines: 40 })}\n`);
}
