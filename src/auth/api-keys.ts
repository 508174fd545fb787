/**
 * The API keys a gateway accepts, from GATEWAY_API_KEYS or a JSON file
 * (GATEWAY_API_KEYS_FILE). Only SHA-256 digests of the secrets are kept, and
 * a presented secret is compared with every key in constant time, so neither
 * memory dumps nor timing tell a secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type Scope, scopes } from './principal.js';

export interface ApiKeyEntry {
  readonly name: string;
  readonly secret: string;
  readonly scopes: readonly Scope[];
}

const entrySchema = z.object({
  name: z.string().min(1),
  key: z.string().min(16, 'an API key needs at least 16 characters'),
  scopes: z.array(z.enum(scopes)).min(1),
});

/**
 * Parses `name:secret:scope+scope,...` (GATEWAY_API_KEYS), e.g.
 * `web:5f1c...:trigger+read,dashboard:9a0b...:read`.
 */
export function parseApiKeys(spec: string): ApiKeyEntry[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item, i) => {
      const [name, key, scopeList, ...rest] = item.split(':');
      const parsed = entrySchema.safeParse({ name, key, scopes: scopeList?.split('+') });
      if (!parsed.success || rest.length > 0) {
        const why = parsed.success ? 'too many ":"' : parsed.error.issues.map((issue) => issue.message).join('; ');
        throw new Error(`GATEWAY_API_KEYS entry ${i + 1}: expected name:key:scope+scope (${why})`);
      }
      return { name: parsed.data.name, secret: parsed.data.key, scopes: parsed.data.scopes };
    });
}

/** Reads `[{ "name", "key", "scopes": ["trigger", "read"] }]` from a JSON file. */
export function readApiKeysFile(path: string): ApiKeyEntry[] {
  const parsed = z.array(entrySchema).safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`GATEWAY_API_KEYS_FILE ${path}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  return parsed.data.map((e) => ({ name: e.name, secret: e.key, scopes: e.scopes }));
}

interface StoredKey {
  readonly name: string;
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
}

export class ApiKeyRing {
  readonly #keys: StoredKey[];

  constructor(entries: readonly ApiKeyEntry[]) {
    const names = new Set<string>();
    this.#keys = entries.map((e) => {
      if (names.has(e.name)) throw new Error(`API key name "${e.name}" is used twice`);
      names.add(e.name);
      return { name: e.name, digest: digest(e.secret), scopes: new Set(e.scopes) };
    });
  }

  /** Authentication is on when at least one key is configured. */
  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** The key whose secret is `secret`, if any. */
  verify(secret: string): { readonly name: string; readonly scopes: ReadonlySet<Scope> } | undefined {
    const presented = digest(secret);
    let found: StoredKey | undefined;
    // look at every key, so the time taken does not tell which one matched
    for (const key of this.#keys) if (timingSafeEqual(key.digest, presented)) found = key;
    return found;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
