// Nothing a run creates outlives it: not after Ctrl-C, not after a grader killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { findLeftovers } from '../src/commands/cleanup.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, runLabels } from '../src/runtime/docker/labels.ts';
import { fixture, netkata, ownedBy } from './helpers/cli.ts';
import { hostListener } from './helpers/host-listener.ts';

/** What a grader process (by pid) has on the engine and the host right now. */
async function leftoversOf(engine: DockerEngine, pid: number): Promise<string[]> {
  const filters = ownedBy(pid);
  const found: string[] = [];
  for (const c of await engine.dockerode.listContainers({ all: true, filters })) found.push(`container ${c.Names[0]}`);
  for (const n of await engine.dockerode.listNetworks({ filters })) found.push(`network ${n.Name}`);
  for (const v of (await engine.dockerode.listVolumes({ filters })).Volumes ?? []) found.push(`volume ${v.Name}`);
  return found;
}

/** Everything of one run, on the engine, in the host's firewall and in the temporary folder. */
async function traceOfRun(engine: DockerEngine, run: string): Promise<string[]> {
  const leftovers = await findLeftovers(engine);
  return [
    ...leftovers.runs.filter((r) => r === run).map((r) => `labelled resources of ${r}`),
    ...leftovers.firewallRules.filter((r) => r.includes(`netkata-${run}`)),
    ...leftovers.workDirs.filter((d) => path.basename(d).startsWith(`netkata-${run}-`)),
  ];
}

/** Calls `act` once the grader's submission container runs (and a moment more, so its test is under way). */
function whenSubmissionUp(engine: DockerEngine, onUp: (child: ChildProcess, run: string) => void, settleMs = 1_500) {
  return (child: ChildProcess) => {
    void (async () => {
      for (let i = 0; i < 900; i++) {
        const [up] = await engine.dockerode.listContainers({ filters: { label: [...ownedBy(child.pid!).label, 'netkata.role=submission'] } });
        if (up) {
          await sleep(settleMs);
          return onUp(child, up.Labels[LABEL_RUN]!);
        }
        await sleep(100);
      }
    })();
  };
}

/** A grade of a submission that keeps connecting to the host, and a test that takes 40 s: time to interrupt it. */
const slowGrade = [
  'grade',
  'echo-server',
  '--submission',
  fixture('hostile', 'gateway-hammer'),
  '--suite',
  fixture('hostile-suite-slow'),
  '--runtime',
  'docker',
];

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
    await engine.dockerode.createNetwork({
      Name: `netkata-${staleRun}`,
      Internal: true,
      Labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: staleRun, [LABEL_OWNER]: `${os.hostname()}:${dead.pid}` },
    });
    await engine.dockerode.createNetwork({
      Name: `netkata-${liveRun}`,
      Internal: true,
      Labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: liveRun, [LABEL_OWNER]: `${os.hostname()}:${process.ppid}` },
    });
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

  test('Ctrl-C while the submission hammers the host: no connection gets through, nothing is left', async () => {
    const engine = await DockerEngine.connect();
    const listener = await hostListener();
    let run = '';
    try {
      // Ctrl-C in a terminal signals the whole foreground job: the test workers die at once, and
      // their submission stays up until the run removes it. The host must stay closed till then.
      const result = await netkata(slowGrade, {
        env: { NETKATA_TEST_HOST_PORT: String(listener.port) },
        ownProcessGroup: true,
        signalAfter: whenSubmissionUp(engine, (child, up) => {
          run = up;
          process.kill(-child.pid!, 'SIGINT');
        }),
      });
      expect(run, 'the submission was up when interrupted').not.toBe('');
      expect(result.code, result.stderr).toBe(130);
      // The host's rule stays until the submission is gone: the hammer (every 10 ms) never got in.
      await sleep(500);
      expect(listener.connections(), 'connections from the submission to the host').toBe(0);
      expect(await leftoversOf(engine, result.pid)).toEqual([]);
      expect(await traceOfRun(engine, run)).toEqual([]);
    } finally {
      listener.close();
    }
  });

  test('two Ctrl-C in a row, or SIGHUP (a closed terminal), still clean up', async () => {
    const engine = await DockerEngine.connect();
    let run = '';
    const twice = await netkata(slowGrade, {
      signalAfter: whenSubmissionUp(engine, (child, up) => {
        run = up;
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 100);
      }),
    });
    expect(twice.code, twice.stderr).toBe(130);
    expect(twice.stderr).toMatch(/still cleaning up/);
    expect(await leftoversOf(engine, twice.pid)).toEqual([]);
    expect(await traceOfRun(engine, run)).toEqual([]);

    const hangup = await netkata(slowGrade, {
      signalAfter: whenSubmissionUp(engine, (child, up) => {
        run = up;
        child.kill('SIGHUP');
      }),
    });
    expect(hangup.code, hangup.stderr).toBe(129);
    expect(await leftoversOf(engine, hangup.pid)).toEqual([]);
    expect(await traceOfRun(engine, run)).toEqual([]);
  });

  test('SIGKILL with the submission up: its reaper removes everything within 15 s, no other grader needed', async () => {
    const engine = await DockerEngine.connect();
    let run = '';
    let killedAt = 0;
    const result = await netkata(slowGrade, {
      signalAfter: whenSubmissionUp(engine, (child, up) => {
        run = up;
        killedAt = Date.now();
        child.kill('SIGKILL');
      }),
    });
    expect(result.signal).toBe('SIGKILL');
    expect(run).not.toBe('');
    let trace = await traceOfRun(engine, run);
    while (trace.length > 0 && Date.now() - killedAt < 15_000) {
      await sleep(250);
      trace = await traceOfRun(engine, run);
    }
    expect(trace, 'what the killed grader left after 15 s').toEqual([]);
    process.stdout.write(`cleanup: a grader killed with SIGKILL left nothing ${((Date.now() - killedAt) / 1000).toFixed(1)} s later\n`);
  });

  test('--submission never falls back to the local runtime: no engine, no grade', async () => {
    const result = await netkata(['grade', 'echo-server', '--submission', fixture('hostile', 'never-listens')], {
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/runs only sandboxed, in a container: start a Docker engine, or pass --runtime local/);
    expect(result.stderr).not.toMatch(/grading on the local runtime/);
    expect(result.stdout).toBe('');
  });

  test('netkata cleanup removes what a dead grader left, and spares a live one', async () => {
    const engine = await DockerEngine.connect();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    const deadRun = `deadrun-${Date.now().toString(36)}`;
    const liveRun = `liverun-${Date.now().toString(36)}`;
    const deadLabels = runLabels(deadRun, dead.pid);
    await engine.dockerode.createNetwork({ Name: `netkata-${deadRun}`, Internal: true, Labels: deadLabels });
    await engine.dockerode.createVolume({ Name: `netkata-${deadRun}-state`, Labels: deadLabels });
    const deadDir = path.join(os.tmpdir(), `netkata-${Date.now().toString(36)}-abcdef-cleanup`);
    await mkdir(deadDir);
    await writeFile(path.join(deadDir, 'owner.json'), JSON.stringify(deadLabels));
    await engine.dockerode.createNetwork({ Name: `netkata-${liveRun}`, Internal: true, Labels: runLabels(liveRun) });
    try {
      const result = await netkata(['cleanup', '--json']);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      // Every grade's start sweeps stale runs too, and another test file's grade may have swept
      // the dead run's network and volume first (a CI run saw removedRuns 0): what is asserted is
      // that they are gone, below, not who removed them. Work folders only cleanup removes.
      expect(report.removedWorkDirs).toBeGreaterThanOrEqual(1);
      const names = (await engine.dockerode.listNetworks({ filters: managed })).map((n) => n.Name);
      expect(names).not.toContain(`netkata-${deadRun}`);
      expect(names, 'a live run is spared').toContain(`netkata-${liveRun}`);
      expect(((await engine.dockerode.listVolumes({ filters: { label: [`${LABEL_RUN}=${deadRun}`] } })).Volumes ?? []).length).toBe(0);
      expect(existsSync(deadDir)).toBe(false);
    } finally {
      await engine.removeRun(liveRun);
      await engine.removeRun(deadRun);
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
