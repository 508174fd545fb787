/**
 * The GraphQL error boundary: GatewayErrors keep their message and code,
 * request errors (syntax, validation, variables) get a code, and everything
 * else is masked as INTERNAL_SERVER_ERROR with the details logged only.
 */
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';

function codeOf(error: GraphQLError): unknown {
  return error.extensions?.['code'];
}

/** Gives a request-level GraphQL error (no original error) a code when it has none. */
export function withRequestErrorCode(error: GraphQLError): GraphQLError {
  if (codeOf(error)) return error;
  const code = error.message.startsWith('Syntax Error') ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED';
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    extensions: { ...error.extensions, code },
  });
}

/** yoga's `maskError`: see the module comment. */
export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const original = graphqlError?.originalError ?? error;
    const location = {
      nodes: graphqlError?.nodes ?? null,
      source: graphqlError?.source ?? null,
      positions: graphqlError?.positions ?? null,
      path: graphqlError?.path ?? null,
    };
    if (original instanceof GatewayError) {
      if (original.code === 'ENGINE_UNAVAILABLE') logger.warn({ err: original.cause ?? original }, original.message);
      return new GraphQLError(original.message, { ...location, extensions: { code: original.code } });
    }
    if (original instanceof GraphQLError && codeOf(original)) {
      return new GraphQLError(original.message, { ...location, extensions: { ...original.extensions } });
    }
    if (graphqlError && !graphqlError.originalError) return withRequestErrorCode(graphqlError);
    logger.error({ err: original }, 'unexpected error (masked)');
    return new GraphQLError(message, { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
