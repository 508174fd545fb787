/**
 * Starts a private redis-server (Debian's package) on a free port for the
 * tests of the shared run log, and stops it after the run. Its folder name
 * marks it (`gateway-test-redis-`) so CI can tell if one outlived the tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-test-redis-'));
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await ready(redis);
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
  return async () => {
    const exited = new Promise((resolve) => redis.once('exit', resolve));
    redis.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
}

function ready(redis: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    const onData = (data: Buffer) => {
      out += data.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        redis.stdout?.off('data', onData);
        resolve();
      }
    };
    redis.stdout?.on('data', onData);
    redis.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not run (apt-get install redis-server): ${error.message}`));
    });
    redis.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${out}`));
    });
  });
}
