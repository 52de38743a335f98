import { InfrastructureError } from '../errors.ts';
import type { RunContext } from './context.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { SubmissionRuntime } from './runtime.ts';

/** Rebuilds, inside a test worker, the runtime the main process chose for this run. */
export async function createRuntime(context: RunContext): Promise<SubmissionRuntime> {
  if (context.runtime === 'local') {
    if (!context.local) throw new InfrastructureError('run context names the local runtime but carries no command');
    return new LocalRuntime(context.local.command, context.local.cwd, context.impairment, context.exercise.transport, context.local.user);
  }
  const { docker } = context;
  if (!docker) throw new InfrastructureError('run context names the docker runtime but carries no image');
  const [{ DockerRuntime }, { DockerEngine }] = await Promise.all([import('./docker/docker-runtime.ts'), import('./docker/engine.ts')]);
  return new DockerRuntime(await DockerEngine.connect(), { ...context, docker });
}
