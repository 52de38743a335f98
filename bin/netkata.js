#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader: no build step between editing and grading.
import { register } from 'tsx/esm/api';

register();
await import('../grader/src/cli.ts');
