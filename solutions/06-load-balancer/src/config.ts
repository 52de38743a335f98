// The load balancer's configuration, from the environment (README.md lists the defaults).
export type Strategy = 'round-robin' | 'least-connections' | 'consistent-hash';

export interface Config {
  readonly port: number;
  readonly backends: readonly URL[];
  readonly strategy: Strategy;
  /** Lower case, as Node presents incoming header names. */
  readonly hashHeader: string;
  readonly healthPath: string;
  readonly healthIntervalMs: number;
  readonly responseTimeoutMs: number;
}

const STRATEGIES: readonly Strategy[] = ['round-robin', 'least-connections', 'consistent-hash'];

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const strategy = (env.STRATEGY || 'round-robin') as Strategy;
  if (!STRATEGIES.includes(strategy)) throw new Error(`STRATEGY must be one of ${STRATEGIES.join(', ')}, not ${strategy}`);
  const backends = (env.BACKENDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => new URL(s));
  if (backends.length === 0) throw new Error('BACKENDS is empty: give comma-separated http://host:port');
  return {
    port: Number(env.PORT ?? 8000),
    backends,
    strategy,
    hashHeader: (env.HASH_HEADER || 'X-Session-Key').toLowerCase(),
    healthPath: env.HEALTH_PATH || '/healthz',
    healthIntervalMs: Number(env.HEALTH_INTERVAL_MS || 1_000),
    responseTimeoutMs: Number(env.RESPONSE_TIMEOUT_MS || 5_000),
  };
}
