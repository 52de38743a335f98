// One backend as the balancer sees it: where it is, its connection pool, its health and load.
import http from 'node:http';
import { lookup } from './resolve.ts';

/** Consecutive results that flip a backend's state (README: 2 failures down, 2 successes up). */
const FLIP_AFTER = 2;
const HEALTH_TIMEOUT_MS = 1_000;

export class Backend {
  /** Backends start healthy: the first checks confirm it, they do not grant it. */
  healthy = true;
  /** Requests in flight to it now, for least-connections. */
  active = 0;
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly url: URL,
    /** Its own pool: keep-alive connections reused across requests, at most maxSockets at once. */
    readonly agent: http.Agent,
  ) {}

  get label(): string {
    return this.url.host;
  }

  /**
   * Active health checks: GET healthPath every intervalMs (after the previous check ended, so
   * a slow backend is never checked twice at once). A check fails on an error (refused, reset,
   * unknown host), on no complete answer within 1 s, or on a status outside 2xx. The state flips
   * only after FLIP_AFTER results in a row that disagree with it, so one lost check does not
   * take a backend out, nor one lucky answer bring a broken one back.
   */
  startHealthChecks(healthPath: string, intervalMs: number): void {
    const check = () => {
      // probe never rejects: a failed check resolves false.
      void this.probe(healthPath).then((ok) => {
        this.record(ok);
        this.timer = setTimeout(check, intervalMs);
      });
    };
    this.timer = setTimeout(check, intervalMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.agent.destroy();
  }

  private record(ok: boolean): void {
    if (ok === this.healthy) {
      this.streak = 0;
      return;
    }
    if (++this.streak >= FLIP_AFTER) {
      this.healthy = ok;
      this.streak = 0;
      console.log(`${this.label} is ${ok ? 'up' : 'down'}`);
    }
  }

  private probe(healthPath: string): Promise<boolean> {
    return new Promise((resolve) => {
      // Its own connection, not the pool: a check must not wait behind (or hold up) real requests.
      const request = http.get(
        { host: this.url.hostname, port: this.url.port || 80, path: healthPath, agent: false, lookup, timeout: HEALTH_TIMEOUT_MS },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode! >= 200 && response.statusCode! < 300));
          response.on('error', () => resolve(false));
        },
      );
      const timer = setTimeout(() => request.destroy(new Error('health check timed out')), HEALTH_TIMEOUT_MS);
      request.on('close', () => clearTimeout(timer));
      request.on('timeout', () => request.destroy(new Error('health check timed out')));
      request.on('error', () => resolve(false));
    });
  }
}
