// Where the engine is, as users of testcontainers expect it found: the Docker CLI's current
// context (Colima, OrbStack, rootless), and where published ports are reached from (an override,
// a remote host, a grader inside a CI job's container). The grader in a sibling container is
// graded for real in engine-discovery.test.ts.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { bridgeIsHere, defaultGateway, dockerContextHost, publishedHost } from '../src/runtime/docker/engine-location.ts';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'netkata-docker-config-'));
  return () => rm(home, { recursive: true, force: true });
});

/** A context as `docker context create NAME --docker host=HOST` writes it. */
async function context(configDir: string, name: string, host: string | undefined): Promise<void> {
  const dir = path.join(configDir, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
}

describe('the Docker CLI context', () => {
  test("the current context's engine, from config.json or DOCKER_CONTEXT; the default context is none", async () => {
    const docker = path.join(home, '.docker');
    expect(dockerContextHost({}, home)).toBeUndefined();
    await context(docker, 'colima', 'unix:///Users/ada/.colima/default/docker.sock');
    await context(docker, 'orbstack', 'unix:///Users/ada/.orbstack/run/docker.sock');
    await writeFile(path.join(docker, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'colima' }));
    expect(dockerContextHost({}, home)).toEqual({ context: 'colima', host: 'unix:///Users/ada/.colima/default/docker.sock' });
    expect(dockerContextHost({ DOCKER_CONTEXT: 'orbstack' }, home)?.host).toBe('unix:///Users/ada/.orbstack/run/docker.sock');
    expect(dockerContextHost({ DOCKER_CONTEXT: 'default' }, home)).toBeUndefined();
    // DOCKER_CONFIG moves the CLI's folder.
    const elsewhere = path.join(home, 'elsewhere');
    await context(elsewhere, 'rootless', 'unix:///run/user/1000/docker.sock');
    await writeFile(path.join(elsewhere, 'config.json'), JSON.stringify({ currentContext: 'rootless' }));
    expect(dockerContextHost({ DOCKER_CONFIG: elsewhere }, home)?.host).toBe('unix:///run/user/1000/docker.sock');
  });

  test('a context that names no engine, or a config that is not JSON, is said plainly', async () => {
    const docker = path.join(home, '.docker');
    await mkdir(docker, { recursive: true });
    expect(() => dockerContextHost({ DOCKER_CONTEXT: 'gone' }, home)).toThrow(/the Docker context "gone" has no readable endpoint .*run `docker context ls`/);
    await context(docker, 'empty', undefined);
    expect(() => dockerContextHost({ DOCKER_CONTEXT: 'empty' }, home)).toThrow(/names no engine/);
    await writeFile(path.join(docker, 'config.json'), '{ not json');
    expect(() => dockerContextHost({}, home)).toThrow(/the Docker CLI's config\) is not JSON/);
  });
});

describe('where published ports are reached', () => {
  const gateway = async () => '172.17.0.1';
  test('an override, a remote engine, a container on the engine it uses, or this machine', async () => {
    expect(await publishedHost({ TESTCONTAINERS_HOST_OVERRIDE: 'docker.internal' }, gateway, true)).toEqual({ host: 'docker.internal', bindIp: '0.0.0.0' });
    expect(await publishedHost({ DOCKER_HOST: 'tcp://10.0.5.7:2376' }, gateway, false)).toEqual({ host: '10.0.5.7', bindIp: '0.0.0.0' });
    expect(await publishedHost({ DOCKER_HOST: 'ssh://ci@builder.example' }, gateway, false)).toEqual({ host: 'builder.example', bindIp: '0.0.0.0' });
    expect(await publishedHost({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }, gateway, false)).toEqual({ host: '127.0.0.1', bindIp: '127.0.0.1' });
    // A CI job's container with the engine's socket: its siblings' ports, on the engine's side of the default bridge.
    expect(await publishedHost({ DOCKER_HOST: 'unix:///var/run/docker.sock' }, gateway, true)).toEqual({ host: '172.17.0.1', bindIp: '172.17.0.1' });
    expect(await publishedHost({}, gateway, false)).toEqual({ host: '127.0.0.1', bindIp: '127.0.0.1' });
    expect(await publishedHost({}, async () => undefined, true)).toEqual({ host: '127.0.0.1', bindIp: '127.0.0.1' });
    // The engine's host (a VM or container running its own engine too) has its bridge; its guest does not.
    expect(bridgeIsHere('docker0', ['lo', 'eth0', 'docker0'])).toBe(true);
    expect(bridgeIsHere('docker0', ['lo', 'eth0'])).toBe(false);
    expect(bridgeIsHere(undefined, ['lo', 'eth0'])).toBeUndefined();
    // A container's /proc/net/route: the default route's gateway, little-endian.
    const routes = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
      'eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    ].join('\n');
    expect(defaultGateway(routes)).toBe('172.17.0.1');
    expect(defaultGateway(routes.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
  });
});
