/**
 * Where the project's own build of the embedded engine sidecar lives, and how
 * to make it. `npm run engine:build` builds it from Hatchet's Go module into a
 * git-ignored cache; this module only finds or (re)runs that build.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The cached sidecar built by `npm run engine:build`. */
export const cachedSidecarPath = join(projectRoot, '.engine', 'bin', 'hatchet-embedded-sidecar');

const buildScript = join(projectRoot, 'scripts', 'engine-build.sh');

/** Resolves to the cached sidecar's path when it exists and is executable. */
export async function findCachedSidecar(): Promise<string | undefined> {
  try {
    await access(cachedSidecarPath, constants.X_OK);
    return cachedSidecarPath;
  } catch {
    return undefined;
  }
}

/**
 * Runs the engine build (Go, from the module proxy) and resolves to the binary.
 * Output goes to stderr so that it never mixes with program output.
 */
export function buildSidecar(): Promise<string> {
  return new Promise((resolvePath, reject) => {
    const child = spawn('bash', [buildScript], { stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolvePath(cachedSidecarPath);
      else reject(new Error(`${buildScript} exited with code ${code}`));
    });
  });
}
