/**
 * The engine as Hatchet releases it (no patch of engine/patches/), for the
 * tests of what the gateway promises on an engine it cannot fix, such as
 * Hatchet Cloud: builds (or reuses) the unpatched sidecar, then starts it like
 * the integration tests' engine.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startTestEngine } from './engine-global-setup.js';

export default function setup(project: TestProject) {
  const root = join(import.meta.dirname, '..', '..');
  execFileSync('bash', [join(root, 'scripts', 'engine-build.sh'), '--unpatched'], { stdio: ['ignore', 2, 2] });
  return startTestEngine(project, join(root, '.engine', 'bin', 'hatchet-embedded-sidecar-unpatched'));
}
