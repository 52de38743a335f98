import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Runs suite files in name order (01-..., 02-...), so stages run and print in order. */
export class StageOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}
