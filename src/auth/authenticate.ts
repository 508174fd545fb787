/**
 * Turns a presented credential (an `Authorization` header, or graphql-ws
 * `connectionParams`) into a Principal. With no API key configured,
 * authentication is off and every caller is `open`. Otherwise a credential is
 * an API key or a run token; anything else is UNAUTHENTICATED, with
 * `extensions.reason` telling a missing credential from a bad one (graphql-ws
 * closes with 4401 for the first, 4403 for the second).
 */
import { GatewayError } from '../errors.js';
import type { ApiKeyRing } from './api-keys.js';
import type { Principal } from './principal.js';
import { looksLikeRunToken, type RunTokens } from './run-tokens.js';

export class Authenticator {
  constructor(
    private readonly keys: ApiKeyRing,
    readonly tokens: RunTokens,
  ) {}

  get enabled(): boolean {
    return this.keys.enabled;
  }

  /** `credential`: "Bearer <secret>" or the bare secret; undefined when none was presented. */
  async authenticate(credential: string | undefined, now = Date.now()): Promise<Principal> {
    if (!this.enabled) return { kind: 'open' };
    const secret = credential?.replace(/^Bearer\s+/i, '').trim();
    if (!secret) {
      throw new GatewayError(
        'UNAUTHENTICATED',
        'Authentication required: send an API key or a run token as a Bearer credential.',
        {
          extensions: { reason: 'MISSING_CREDENTIAL' },
        },
      );
    }
    const key = this.keys.verify(secret);
    if (key) return { kind: 'key', name: key.name, scopes: key.scopes };
    if (looksLikeRunToken(secret)) {
      const check = await this.tokens.verify(secret);
      if (check === 'expired' || (check !== 'invalid' && check.expiresAt <= now)) {
        throw new GatewayError(
          'UNAUTHENTICATED',
          'This run token expired: get a fresh one (runToken) and resume with your last cursor.',
          {
            extensions: { reason: 'TOKEN_EXPIRED' },
          },
        );
      }
      if (check !== 'invalid') return { kind: 'run', runId: check.runId, expiresAt: check.expiresAt };
    }
    throw new GatewayError('UNAUTHENTICATED', 'This credential is not valid.', {
      extensions: { reason: 'INVALID_CREDENTIAL' },
    });
  }
}

/** The credential in graphql-ws `connectionParams`: `authorization`, `Authorization` or `token`. */
export function credentialOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = params?.['authorization'] ?? params?.['Authorization'] ?? params?.['token'];
  return typeof value === 'string' ? value : undefined;
}
