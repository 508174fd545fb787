/**
 * The GraphQL error boundary: GatewayErrors keep their message and code,
 * request errors (syntax, validation, variables) get a code, and everything
 * else is masked as INTERNAL_SERVER_ERROR with the details logged only.
 */
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { GatewayError, httpStatusOf } from '../errors.js';

function codeOf(error: GraphQLError): unknown {
  return error.extensions?.['code'];
}

/**
 * Recognises a GraphQLError by its name, not by instanceof: the graphql
 * package can be loaded twice (ESM and CommonJS copies), and then instanceof
 * fails across them.
 */
function asGraphQLError(error: unknown): GraphQLError | undefined {
  return error instanceof Error && error.name === 'GraphQLError' ? (error as GraphQLError) : undefined;
}

/**
 * Gives a request-level GraphQL error (no original error) a code when it has
 * none. It sets the code on the error itself rather than making a new one, so
 * the error stays an instance of whichever graphql copy made it.
 */
export function withRequestErrorCode(error: GraphQLError): GraphQLError {
  if (!codeOf(error)) {
    const code = error.message.startsWith('Syntax Error') ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED';
    (error.extensions as Record<string, unknown>)['code'] = code;
  }
  return error;
}

/** yoga's `maskError`: see the module comment. */
export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const graphqlError = asGraphQLError(error);
    const original = graphqlError?.originalError ?? error;
    const location = {
      nodes: graphqlError?.nodes ?? null,
      source: graphqlError?.source ?? null,
      positions: graphqlError?.positions ?? null,
      path: graphqlError?.path ?? null,
    };
    if (original instanceof GatewayError) {
      if (original.code === 'ENGINE_UNAVAILABLE' || original.code === 'LOG_UNAVAILABLE')
        logger.warn({ err: original.cause ?? original }, original.message);
      const status = httpStatusOf[original.code];
      return new GraphQLError(original.message, {
        ...location,
        // yoga answers with `http.status` (and strips it from the body) when the response is not a stream
        extensions: { code: original.code, ...original.extensions, ...(status ? { http: { status } } : {}) },
      });
    }
    const originalGraphQL = asGraphQLError(original);
    if (originalGraphQL && codeOf(originalGraphQL)) {
      return new GraphQLError(originalGraphQL.message, { ...location, extensions: { ...originalGraphQL.extensions } });
    }
    // a variable of the wrong type: graphql wraps the scalar's own error, with no path
    if (graphqlError && originalGraphQL && !graphqlError.path) {
      return new GraphQLError(graphqlError.message, { ...location, extensions: { code: 'BAD_USER_INPUT' } });
    }
    if (graphqlError && !graphqlError.originalError) return withRequestErrorCode(graphqlError);
    // yoga reads `variables` and `extensions` of GET and form requests with JSON.parse
    if (original instanceof SyntaxError && !graphqlError?.path) {
      return new GraphQLError('A request parameter (`variables` or `extensions`) is not valid JSON.', {
        ...location,
        extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
      });
    }
    logger.error({ err: original }, 'unexpected error (masked)');
    return new GraphQLError(message, { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
