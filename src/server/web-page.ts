/**
 * Serves the web page (web/, built into web/dist/ by `npm run web:build`):
 * GET `/` is its index.html, GET `/assets/<file>` its scripts and styles.
 * It serves only files directly inside web/dist/assets/ whose type it knows,
 * never a path that climbs out of it; anything else is a 404. When the page
 * was not built, it answers 503 with the command that builds it.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run web:build` writes the page. */
export const defaultWebRoot = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const contentTypes: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Where index.html says which GraphQL path to use; the page reads it at start. */
const graphqlPathMeta = /<meta name="graphql-path" content="[^"]*"\s*\/?>/;

/** One plain name: no separators, no leading dot, so never `..` nor a hidden file. */
const assetName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

// the page loads only its own files; images of streamed files are blob: URLs
const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface WebPageOptions {
  /** The GraphQL path the page talks to (written into its index.html). */
  readonly graphqlPath: string;
  /** The built page; default web/dist/. */
  readonly root?: string;
}

export interface WebPage {
  /** Whether this request is the page's: GET or HEAD of `/` or under `/assets/`. */
  handles(method: string | undefined, path: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

/** The page's handler; files are read on each request, so a rebuild shows without a restart. */
export function createWebPage({ graphqlPath, root = defaultWebRoot }: WebPageOptions): WebPage {
  const servesRoot = graphqlPath !== '/';
  return {
    handles: (method, path) =>
      (method === 'GET' || method === 'HEAD') && ((servesRoot && path === '/') || path.startsWith('/assets/')),
    serve: async (req, res, path) => {
      const index = await readOptional(join(root, 'index.html'));
      if (index === undefined) {
        return send(
          req,
          res,
          503,
          'text/plain; charset=utf-8',
          'The web page is not built: run `npm run web:build`.\n',
        );
      }
      if (path === '/') {
        const html = index
          .toString('utf8')
          .replace(graphqlPathMeta, `<meta name="graphql-path" content="${escapeAttribute(graphqlPath)}" />`);
        return send(req, res, 200, 'text/html; charset=utf-8', html, {
          'content-security-policy': contentSecurityPolicy,
        });
      }
      const name = decodeName(path.slice('/assets/'.length));
      const type = name === undefined ? undefined : contentTypes[extname(name)];
      const body =
        name === undefined || type === undefined ? undefined : await readOptional(join(root, 'assets', name));
      if (body === undefined || type === undefined) {
        return send(req, res, 404, 'text/plain; charset=utf-8', 'Not found\n');
      }
      return send(req, res, 200, type, body);
    },
  };
}

function decodeName(raw: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return assetName.test(name) ? name : undefined;
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': bytes.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
