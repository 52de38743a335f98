// The server's settings, from the environment the grader gives it (README: "The contract").
export interface Config {
  readonly port: number;
  /** The folder served; nothing outside it ever is. */
  readonly filesDir: string;
  /** From a request's first byte, how long its whole header section may take: then 408. */
  readonly headerTimeoutMs: number;
  /** How long a connection may wait between requests (no byte of the next one yet): then closed, silently. */
  readonly idleTimeoutMs: number;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer of milliseconds, not ${JSON.stringify(raw)}`);
  return value;
}

export function configFromEnv(): Config {
  const filesDir = process.env.FILES_DIR;
  if (!filesDir) throw new Error('FILES_DIR is not set: it names the folder to serve');
  return {
    port: Number(process.env.PORT ?? 8080),
    filesDir,
    headerTimeoutMs: positive('HEADER_TIMEOUT_MS', 10_000),
    idleTimeoutMs: positive('IDLE_TIMEOUT_MS', 60_000),
  };
}
