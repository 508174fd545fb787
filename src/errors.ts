/**
 * The gateway's error codes: a small, documented set that clients can switch
 * on (`extensions.code` in GraphQL errors). Core code throws GatewayError; the
 * GraphQL boundary turns it into a GraphQLError with its code, and masks every
 * other error as INTERNAL_SERVER_ERROR.
 */

export const errorCodes = {
  /** The input is malformed: not a JSON object, a bad id or cursor. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The request itself is malformed (not JSON, a subscription over plain HTTP): fix the client. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The workflow is not registered on the engine, or not allowed by GATEWAY_WORKFLOWS. */
  WORKFLOW_NOT_FOUND: 'WORKFLOW_NOT_FOUND',
  /** The engine does not know the run (or not within RUN_LOOKUP_TIMEOUT_MS). */
  RUN_NOT_FOUND: 'RUN_NOT_FOUND',
  /** The cursor points into a log this gateway no longer has (restart, retention): subscribe without `after` to replay the run. */
  CURSOR_EXPIRED: 'CURSOR_EXPIRED',
  /** The engine cannot be reached or failed to answer. */
  ENGINE_UNAVAILABLE: 'ENGINE_UNAVAILABLE',
  /** The shared run log (REDIS_URL) cannot be reached; retry, with your last cursor. */
  LOG_UNAVAILABLE: 'LOG_UNAVAILABLE',
  /** No credential, or one that is not valid (unknown API key, bad or expired run token). HTTP 401; graphql-ws closes 4401/4403. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The credential is valid but does not allow this (a missing scope, a run token used for another run). HTTP 403. */
  FORBIDDEN: 'FORBIDDEN',
  /** The run token that opened this subscription expired: resume with a fresh token and your last cursor. */
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** Too many triggers for this API key: `extensions.retryAfterMs` says when to try again. HTTP 429. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A configured limit was passed: `extensions.limit` names its setting (e.g. MAX_INPUT_BYTES). */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The gateway is shutting down; resume from the last cursor on another instance or later. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** Anything unexpected; details are logged, never sent. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** An error whose message is safe to show to clients. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  /**
   * @param extensions more for clients beside the code (`limit`, `retryAfterMs`).
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; extensions?: Record<string, unknown> },
  ) {
    super(message, options);
    this.extensions = options?.extensions ?? {};
  }

  readonly extensions: Record<string, unknown>;
}

/** The HTTP status a code answers with, when the response is not a stream. */
export const httpStatusOf: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
};
