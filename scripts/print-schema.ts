/**
 * `npm run schema:print` writes schema.graphql from the Pothos schema;
 * `npm run schema:check` fails when the committed file differs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printGatewaySchema } from '../src/schema/index.js';

const file = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const printed = printGatewaySchema();

if (process.argv.includes('--check')) {
  const committed = await readFile(file, 'utf8').catch(() => '');
  if (committed !== printed) {
    process.stderr.write('schema.graphql differs from the Pothos schema: run `npm run schema:print` and commit it.\n');
    process.exit(1);
  }
  process.stdout.write('schema.graphql is current.\n');
} else {
  await writeFile(file, printed);
  process.stdout.write(`wrote ${file}\n`);
}
