import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../errors.ts';

/**
 * The engine of the Docker CLI's current context (`docker context use colima`, OrbStack's,
 * rootless Docker's), as the CLI finds it: DOCKER_CONTEXT, else `currentContext` in the CLI's
 * config.json (DOCKER_CONFIG, default ~/.docker), whose endpoint is in
 * contexts/meta/<sha256 of the name>/meta.json. Undefined for the default context, which is
 * DOCKER_HOST or the default socket. testcontainers does not read contexts.
 */
export function dockerContextHost(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): { context: string; host: string } | undefined {
  const configDir = env.DOCKER_CONFIG ?? path.join(home, '.docker');
  let context = env.DOCKER_CONTEXT;
  if (context === undefined) {
    const configFile = path.join(configDir, 'config.json');
    if (!existsSync(configFile)) return undefined;
    try {
      context = (JSON.parse(readFileSync(configFile, 'utf8')) as { currentContext?: unknown }).currentContext as string | undefined;
    } catch (error) {
      throw new ConfigError(`${configFile} (the Docker CLI's config) is not JSON: ${(error as Error).message}`);
    }
  }
  if (context === undefined || context === '' || context === 'default') return undefined;
  const meta = path.join(configDir, 'contexts', 'meta', createHash('sha256').update(context).digest('hex'), 'meta.json');
  let host: unknown;
  try {
    host = (JSON.parse(readFileSync(meta, 'utf8')) as { Endpoints?: { docker?: { Host?: unknown } } }).Endpoints?.docker?.Host;
  } catch (error) {
    throw new ConfigError(`the Docker context "${context}" has no readable endpoint (${meta}): ${(error as Error).message}; run \`docker context ls\``);
  }
  if (typeof host !== 'string' || host === '') throw new ConfigError(`the Docker context "${context}" names no engine (${meta} has no Endpoints.docker.Host)`);
  return { context, host };
}

/**
 * This machine's default gateway, from the kernel's routing table: for a container that is the
 * engine's guest, the engine's host as it sees it (the gateway of whichever network it is on).
 */
export function defaultGateway(routes = readRoutes()): string | undefined {
  for (const line of routes.split('\n').slice(1)) {
    const [, destination, gateway] = line.trim().split(/\s+/);
    if (destination !== '00000000' || !gateway || !/^[0-9A-F]{8}$/i.test(gateway) || gateway === '00000000') continue;
    // Little-endian hex: 010011AC is 172.17.0.1.
    return [3, 2, 1, 0].map((i) => parseInt(gateway.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  return undefined;
}

function readRoutes(): string {
  try {
    return readFileSync('/proc/net/route', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Whether the engine's networks are this machine's: its default bridge's interface (docker0,
 * or what the bridge network names) is one of this machine's interfaces, as on the engine's own
 * host (a VM or a container that runs its own engine included). A CI job's container that only
 * has the engine's socket is the engine's guest: the bridge is not among its interfaces, and
 * its siblings' internal networks are not routable from it. Decided by configuration, without
 * sending anything. Undefined when the engine has no default bridge to tell by.
 */
export function bridgeIsHere(bridgeInterface: string | undefined, interfaces = localInterfaces()): boolean | undefined {
  return bridgeInterface === undefined ? undefined : interfaces.includes(bridgeInterface);
}

/** Every network interface of this network namespace, up or down (Node's list leaves out those down: docker0 with no container on it). */
function localInterfaces(): string[] {
  try {
    return readdirSync('/sys/class/net');
  } catch {
    return Object.keys(os.networkInterfaces());
  }
}

/**
 * Where this process reaches the ports the engine publishes, and the address they are published
 * on, as testcontainers decides it: TESTCONTAINERS_HOST_OVERRIDE; a remote DOCKER_HOST's host (all
 * addresses, since another machine connects); for the engine's guest (a CI job's container),
 * its default gateway, which is the engine's host seen from there (published on that address
 * only); else this machine's loopback.
 */
export async function publishedHost(
  env: NodeJS.ProcessEnv,
  gateway: () => Promise<string | undefined>,
  /** The grader is the engine's guest (see bridgeIsHere). */
  guest: boolean,
): Promise<{ host: string; bindIp: string }> {
  const override = env.TESTCONTAINERS_HOST_OVERRIDE;
  if (override) return { host: override, bindIp: '0.0.0.0' };
  const dockerHost = env.DOCKER_HOST ?? '';
  if (/^(tcp|http|https|ssh):\/\//.test(dockerHost)) {
    const host = new URL(dockerHost.replace(/^(tcp|ssh):/, 'http:')).hostname;
    return { host, bindIp: host === '127.0.0.1' || host === 'localhost' ? '127.0.0.1' : '0.0.0.0' };
  }
  if (guest) {
    const address = await gateway();
    if (address) return { host: address, bindIp: address };
  }
  return { host: '127.0.0.1', bindIp: '127.0.0.1' };
}
