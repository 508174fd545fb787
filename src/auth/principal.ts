/**
 * Who is asking: the result of authenticating a request or a graphql-ws
 * connection, and the checks resolvers make against it. With authentication
 * off (no API key configured) everyone is `open` and may do everything.
 */
import { GatewayError } from '../errors.js';

/** `trigger`: start and cancel runs. `read`: list workflows, read and follow any run. */
export const scopes = ['trigger', 'read'] as const;
export type Scope = (typeof scopes)[number];

export type Principal =
  /** Authentication is off. */
  | { readonly kind: 'open' }
  /** An API key from the gateway's configuration. */
  | { readonly kind: 'key'; readonly name: string; readonly scopes: ReadonlySet<Scope> }
  /** A run token: may follow (and read) that one run until it expires. */
  | { readonly kind: 'run'; readonly runId: string; readonly expiresAt: number };

/** What limits count by: the key's name, the run token's run, or everyone when authentication is off. */
export function principalName(principal: Principal): string {
  switch (principal.kind) {
    case 'open':
      return 'open';
    case 'key':
      return `key:${principal.name}`;
    case 'run':
      return `run:${principal.runId}`;
  }
}

/** Throws FORBIDDEN unless `principal` holds `scope`. */
export function assertScope(principal: Principal, scope: Scope): void {
  if (principal.kind === 'open') return;
  if (principal.kind === 'key' && principal.scopes.has(scope)) return;
  throw new GatewayError(
    'FORBIDDEN',
    principal.kind === 'run'
      ? 'A run token only lets its holder follow its own run.'
      : `This API key lacks the \`${scope}\` scope.`,
  );
}

/** Throws FORBIDDEN unless `principal` may read and follow `runId`. */
export function assertCanRead(principal: Principal, runId: string, now = Date.now()): void {
  if (principal.kind === 'run') {
    // a graphql-ws connection authenticated its token once: check it again per operation
    if (principal.expiresAt <= now) {
      throw new GatewayError(
        'TOKEN_EXPIRED',
        'This run token expired: get a fresh one (createRunToken) and resume with your last cursor.',
      );
    }
    if (principal.runId !== runId) throw new GatewayError('FORBIDDEN', 'This run token is for another run.');
    return;
  }
  assertScope(principal, 'read');
}
