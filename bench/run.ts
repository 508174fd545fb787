/** `npm run bench -- <scenario>`: runs bench/<scenario>.ts. Scenarios: memory, files. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const scenario = process.argv[2];
const file = new URL(`./${scenario}.ts`, import.meta.url);
if (!scenario || !existsSync(file)) {
  process.stderr.write('usage: npm run bench -- <scenario>   (scenarios: memory, files)\n');
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file.pathname], { stdio: 'inherit' });
process.exit(result.status ?? 1);
