import { ConfigError } from '../errors.ts';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import type { Calibration } from '../impairment/calibrate.ts';
import { loadProfile } from '../impairment/profile.ts';
import { calibrateRelay } from '../impairment/relay/calibrate-relay.ts';
import { ensureImage, type BuildMode } from '../images/ensure-image.ts';
import { Reaper } from '../runner/reaper.ts';
import { newRunId } from '../runner/start-run.ts';
import { calibrateOnDocker } from '../runtime/docker/calibration-probe.ts';
import { chooseBackend, detectBackends } from '../runtime/docker/detect-backend.ts';
import { DockerEngine } from '../runtime/docker/engine.ts';
import { runLabels } from '../runtime/docker/labels.ts';
import type { Lifetime } from '../lifetime.ts';

export interface CalibrateOptions {
  readonly profile: string;
  readonly runtime: 'docker' | 'local';
  readonly impairment: BackendChoice;
  readonly seed: number;
  readonly buildMode: BuildMode;
  readonly lifetime: Lifetime;
}

/** `netkata calibrate --profile NAME`: measures a profile's link on this machine's backend. */
export async function calibrate(options: CalibrateOptions): Promise<Calibration> {
  const link = loadProfile(options.profile);
  if (options.runtime === 'local') {
    if (options.impairment !== 'auto') throw new ConfigError('--impairment applies to the docker runtime; the local runtime uses its relay');
    return calibrateRelay(link, options.seed);
  }
  const engine = await DockerEngine.connect();
  const runId = newRunId();
  const reaper = Reaper.start(runId);
  options.lifetime.hold({
    async [Symbol.asyncDispose]() {
      await engine.removeRun(runId);
      reaper.release();
    },
  });
  await engine.sweepStale();
  const [runtime, impair] = [await ensureImage(engine, 'runtime', options.buildMode), await ensureImage(engine, 'impair', options.buildMode)];
  const backend = chooseBackend(options.impairment, await detectBackends(engine, impair.tag));
  const network = await engine.createRunNetwork(runId);
  return calibrateOnDocker(
    { engine, network, runtimeImage: runtime.tag, impairImage: impair.tag, labels: runLabels(runId), backend, seed: options.seed },
    link,
  );
}
