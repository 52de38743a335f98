// Nothing a run creates outlives it: not after Ctrl-C, not after a grader killed with SIGKILL.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { LABEL_MANAGED, LABEL_OWNER, LABEL_RUN } from '../src/runtime/docker/labels.ts';
import { netkata, ownedBy } from './helpers/cli.ts';

const managed = { label: [`${LABEL_MANAGED}=true`] };

describe('cleanup', () => {
  test('Ctrl-C during a grade removes its containers and network and exits 130', async () => {
    const engine = await DockerEngine.connect();
    let sawContainer = false;
    const result = await netkata(['grade', 'echo-server', '--solution', '--runtime', 'docker'], {
      signalAfter: (child) => {
        void (async () => {
          // Interrupt once the submission container is up, mid-suite.
          for (let i = 0; i < 600 && !sawContainer; i++) {
            const running = await engine.dockerode.listContainers({ filters: ownedBy(child.pid!) });
            if (running.length > 0) sawContainer = true;
            else await sleep(100);
          }
          child.kill('SIGINT');
        })();
      },
    });
    expect(sawContainer, 'a submission container was started').toBe(true);
    expect(result.code).toBe(130);
    expect(await engine.dockerode.listContainers({ all: true, filters: ownedBy(result.pid) })).toEqual([]);
    expect(await engine.dockerode.listNetworks({ filters: ownedBy(result.pid) })).toEqual([]);
  });

  test('the next run sweeps what a killed grader left behind, and spares live runs', async () => {
    const engine = await DockerEngine.connect();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    const os = await import('node:os');
    const staleRun = `stale-${Date.now().toString(36)}`;
    const liveRun = `live-${Date.now().toString(36)}`;
    await engine.dockerode.createNetwork({ Name: `netkata-${staleRun}`, Internal: true, Labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: staleRun, [LABEL_OWNER]: `${os.hostname()}:${dead.pid}` } });
    await engine.dockerode.createNetwork({ Name: `netkata-${liveRun}`, Internal: true, Labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: liveRun, [LABEL_OWNER]: `${os.hostname()}:${process.ppid}` } });
    try {
      expect(await engine.sweepStale()).toBeGreaterThanOrEqual(1);
      const names = (await engine.dockerode.listNetworks({ filters: managed })).map((n) => n.Name);
      expect(names).not.toContain(`netkata-${staleRun}`);
      expect(names).toContain(`netkata-${liveRun}`);
    } finally {
      await engine.removeRun(liveRun);
      await engine.removeRun(staleRun);
    }
  });

  test('the run network is internal: no route out by configuration', async () => {
    const engine = await DockerEngine.connect();
    const runId = `probe-${Date.now().toString(36)}`;
    const name = await engine.createRunNetwork(runId);
    try {
      const info = await engine.dockerode.getNetwork(name).inspect();
      expect(info.Internal).toBe(true);
      expect(info.Options?.['com.docker.network.bridge.enable_ip_masquerade']).toBe('false');
      expect(info.Labels?.[LABEL_RUN]).toBe(runId);
    } finally {
      await engine.removeRun(runId);
    }
    // Sanity: the CLI itself runs (and this file's runs left nothing behind).
    expect((await netkata(['list'])).code).toBe(0);
  });
});
