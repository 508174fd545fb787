/**
 * The project's own build of the embedded engine sidecar: `npm run
 * engine:build` builds it from Hatchet's Go module into a git-ignored folder,
 * keyed by its sources, so it is rebuilt when engine/ changes and takes about
 * 0.1 s otherwise. This module only finds Go and runs that build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run engine:build` puts the sidecar. */
export const cachedSidecarPath = join(projectRoot, '.engine', 'bin', 'hatchet-embedded-sidecar');

const buildScript = join(projectRoot, 'scripts', 'engine-build.sh');

function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The project's sidecar, built or refreshed first when Go is on PATH; the
 * existing build when Go is not; undefined when there is neither (the SDK then
 * downloads the official sidecar).
 */
export async function localSidecar(): Promise<string | undefined> {
  if (hasGo()) return buildSidecar();
  try {
    await access(cachedSidecarPath, constants.X_OK);
    return cachedSidecarPath;
  } catch {
    return undefined;
  }
}

/** Runs the engine build; its output goes to stderr, never into program output. */
function buildSidecar(): Promise<string> {
  return new Promise((resolvePath, reject) => {
    const child = spawn('bash', [buildScript], { stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolvePath(cachedSidecarPath);
      else reject(new Error(`${buildScript} exited with code ${code}`));
    });
  });
}
