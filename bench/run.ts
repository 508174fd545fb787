/**
 * `npm run bench -- <scenario>`: runs bench/<scenario>.ts, which prints a
 * table and writes bench/results/<scenario>.json. Scenarios: memory, files,
 * overhead, fanout, proxy, throughput, runs. BENCH_CPU_PROF=1 makes the scenarios
 * that start a gateway process write its V8 CPU profile to bench/results/profiles/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const scenarios = ['memory', 'files', 'overhead', 'fanout', 'proxy', 'throughput', 'runs'];
const scenario = process.argv[2];
if (!scenario || !scenarios.includes(scenario) || !existsSync(new URL(`./${scenario}.ts`, import.meta.url))) {
  process.stderr.write(`usage: npm run bench -- <scenario>   (scenarios: ${scenarios.join(', ')})\n`);
  process.exit(2);
}
const file = new URL(`./${scenario}.ts`, import.meta.url);
const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file.pathname], { stdio: 'inherit' });
process.exit(result.status ?? 1);
