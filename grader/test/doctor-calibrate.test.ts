// The impairment issue's promises as a user types them: doctor says what this machine has,
// calibrate proves a profile on it.
import { expect, test } from 'vitest';
import type { DoctorReport } from '../src/commands/doctor.ts';
import type { Calibration } from '../src/impairment/calibrate.ts';
import { netkata } from './helpers/cli.ts';

test('doctor --json: engine, images, backends and the one auto picks', async () => {
  const result = await netkata(['doctor', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const report: DoctorReport = JSON.parse(result.stdout);
  expect(report.docker.reachable).toBe(true);
  expect(report.images.map((i) => [i.name, i.present])).toEqual([['runtime', true], ['runtime-c', true], ['impair', true]]);
  expect(report.backends.userspace.available, 'NFQUEUE works here').toBe(true);
  // auto prefers the kernel's netem; on this project's machines the kernel has none.
  expect(report.auto).toBe(report.backends.netem.available === true ? 'netem' : 'userspace');
  if (report.backends.netem.available !== true) expect(report.backends.netem.detail).toMatch(/qdisc kind is unknown|netem/i);
});

test.each(['wan', 'lossy'])('calibrate --profile %s --json measures the link within tolerance and exits 0', async (profile) => {
  const result = await netkata(['calibrate', '--profile', profile, '--json']);
  expect(result.code, result.stderr).toBe(0);
  const calibration: Calibration = JSON.parse(result.stdout);
  expect(calibration.ok, JSON.stringify(calibration.checks)).toBe(true);
  expect(calibration.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['median RTT', 'ingress loss', 'egress loss']));
  expect(['netem', 'userspace']).toContain(calibration.backend);
}, 120_000);
