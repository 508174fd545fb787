/**
 * The gateway's error codes: a small, documented set that clients can switch
 * on (`extensions.code` in GraphQL errors). Core code throws GatewayError; the
 * GraphQL boundary turns it into a GraphQLError with its code, and masks every
 * other error as INTERNAL_SERVER_ERROR.
 */

export const errorCodes = {
  /** The input is malformed: not a JSON object, a bad id or cursor. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
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
  /** The gateway is shutting down; resume from the last cursor on another instance or later. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** Anything unexpected; details are logged, never sent. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** An error whose message is safe to show to clients. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
