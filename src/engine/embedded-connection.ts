/**
 * Lets a separate process reach the embedded engine: `npm start` writes the
 * connection (token, addresses) to .engine/embedded.env, and `npm run worker`
 * reads it when HATCHET_CLIENT_TOKEN is not set. The file is git-ignored and
 * only readable by its owner.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), '.engine', 'embedded.env');

export async function writeEmbeddedConnection(hatchet: HatchetClient): Promise<void> {
  const c = hatchet.config;
  const lines = [
    `HATCHET_CLIENT_TOKEN=${c.token}`,
    `HATCHET_CLIENT_HOST_PORT=${c.host_port}`,
    `HATCHET_CLIENT_API_URL=${c.api_url}`,
    `HATCHET_CLIENT_TENANT_ID=${c.tenant_id}`,
    'HATCHET_CLIENT_TLS_STRATEGY=none',
  ];
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Forgets the connection once the engine stopped, so no worker tries a dead one. */
export async function removeEmbeddedConnection(): Promise<void> {
  await rm(file, { force: true });
}

/** The embedded engine's connection as env vars, or undefined when none was written. */
export async function readEmbeddedConnection(): Promise<Record<string, string> | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}
