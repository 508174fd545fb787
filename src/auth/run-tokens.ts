/**
 * Run tokens: short-lived signed tokens (JWT, HS256) that let their holder
 * follow one run and nothing else, for browsers that must not hold an API key.
 * `triggerWorkflow` returns one; `runToken` mints a fresh one for a holder of
 * the `read` scope. Replicas must share RUN_TOKEN_SECRET to accept each
 * other's tokens.
 */
import { errors, jwtVerify, SignJWT } from 'jose';

const issuer = 'hatchet-graphql-gateway';
const audience = 'workflow-run';

export interface RunTokenClaims {
  readonly runId: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export type RunTokenCheck = RunTokenClaims | 'expired' | 'invalid';

export class RunTokens {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlMs: number,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  /** Signs a token for `runId`, valid for the configured time. */
  async issue(runId: string, now = Date.now()): Promise<{ token: string; expiresAt: Date }> {
    // a JWT's expiry is in whole seconds: say exactly the instant the token stops working
    const expiresAt = new Date(Math.floor((now + this.ttlMs) / 1000) * 1000);
    const token = await new SignJWT({ scope: 'follow' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(runId)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.#key);
    return { token, expiresAt };
  }

  /** Checks signature, issuer, audience and expiry. */
  async verify(token: string): Promise<RunTokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer, audience, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload['scope'] !== 'follow' || typeof payload.exp !== 'number') {
        return 'invalid';
      }
      return { runId: payload.sub, expiresAt: payload.exp * 1000 };
    } catch (error) {
      return error instanceof errors.JWTExpired ? 'expired' : 'invalid';
    }
  }
}

/** Whether `credential` has the shape of a JWT (three base64url parts), so it is checked as a run token. */
export function looksLikeRunToken(credential: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential);
}
