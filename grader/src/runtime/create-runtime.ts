import { InfrastructureError } from '../errors.ts';
import type { RunContext } from './context.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { SubmissionRuntime } from './runtime.ts';

/** Rebuilds, inside a test worker, the runtime the main process chose for this run. */
export async function createRuntime(context: RunContext): Promise<SubmissionRuntime> {
  if (context.runtime === 'local') {
    if (!context.local) throw new InfrastructureError('run context names the local runtime but carries no command');
    return new LocalRuntime(context.local.command, context.local.cwd);
  }
  if (!context.docker) throw new InfrastructureError('run context names the docker runtime but carries no image');
  const { DockerRuntime } = await import('./docker/docker-runtime.ts');
  return new DockerRuntime(context.docker);
}
