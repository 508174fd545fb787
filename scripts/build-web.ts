/**
 * `npm run web:build` (run by `npm start` first): bundles the web page with
 * esbuild into web/dist/, which the gateway serves at `/`: index.html and
 * assets/ (main.js, style.css and their source maps). Importable, so the
 * browser test builds the page in its setup.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));

/** Where the built page goes; the gateway serves it from there. */
export const webDistDir = join(webDir, 'dist');

/** Builds the page into web/dist/ and returns the files written, relative to it. */
export async function buildWebPage(): Promise<string[]> {
  const assets = join(webDistDir, 'assets');
  await mkdir(assets, { recursive: true });
  const result = await build({
    entryPoints: { main: join(webDir, 'src/main.ts'), style: join(webDir, 'style.css') },
    outdir: assets,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
    minify: true,
    sourcemap: 'linked',
    tsconfig: join(webDir, 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
  });
  await copyFile(join(webDir, 'index.html'), join(webDistDir, 'index.html'));
  return ['index.html', ...Object.keys(result.metafile.outputs).map((file) => relative(webDistDir, file))];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const files = await buildWebPage();
  process.stdout.write(
    `web page built in ${Date.now() - started} ms: ${files.map((f) => `web/dist/${f}`).join(', ')}\n`,
  );
}
