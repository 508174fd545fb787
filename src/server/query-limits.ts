/**
 * Limits on the operations themselves (graphql-armor: depth, cost, aliases,
 * directives, tokens) and the introspection switch, as envelop plugins. They
 * hook parse and validate, so they apply to graphql-ws as well as to HTTP and
 * SSE: the WebSocket path parses and validates through yoga's envelop too.
 * (yoga's own disable-introspection plugin marks requests in onRequestParse,
 * which never runs for graphql-ws; hence the rule below instead.)
 * Every rejection carries LIMIT_EXCEEDED and the setting that caused it.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';

export type QueryLimitsConfig = Pick<
  Config,
  | 'INTROSPECTION'
  | 'MAX_QUERY_DEPTH'
  | 'MAX_QUERY_COST'
  | 'MAX_QUERY_ALIASES'
  | 'MAX_QUERY_DIRECTIVES'
  | 'MAX_QUERY_TOKENS'
>;

/** Tags an armor rejection with our code and the setting to change. */
function tag(limit: keyof QueryLimitsConfig, max: number) {
  return [
    (_ctx: unknown, error: GraphQLError) => {
      // 400 like every other invalid operation (armor leaves it to the server, and yoga would answer 200)
      Object.assign(error.extensions as Record<string, unknown>, {
        code: 'LIMIT_EXCEEDED',
        limit,
        max,
        http: { status: 400 },
      });
    },
  ];
}

export function queryLimitPlugins(config: QueryLimitsConfig): Plugin[] {
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: config.MAX_QUERY_DEPTH, onReject: tag('MAX_QUERY_DEPTH', config.MAX_QUERY_DEPTH) },
      costLimit: { maxCost: config.MAX_QUERY_COST, onReject: tag('MAX_QUERY_COST', config.MAX_QUERY_COST) },
      maxAliases: { n: config.MAX_QUERY_ALIASES, onReject: tag('MAX_QUERY_ALIASES', config.MAX_QUERY_ALIASES) },
      maxDirectives: {
        n: config.MAX_QUERY_DIRECTIVES,
        onReject: tag('MAX_QUERY_DIRECTIVES', config.MAX_QUERY_DIRECTIVES),
      },
      maxTokens: { n: config.MAX_QUERY_TOKENS, onReject: tag('MAX_QUERY_TOKENS', config.MAX_QUERY_TOKENS) },
      // suggestions ("did you mean ...") reveal the schema when introspection is off
      blockFieldSuggestion: { enabled: !config.INTROSPECTION },
    }),
  ];
  if (!config.INTROSPECTION) {
    plugins.push({
      onValidate: ({ addValidationRule }) => {
        addValidationRule(noIntrospection);
      },
    });
  }
  return plugins;
}

/** Refuses `__schema` and `__type` (`__typename` stays: clients need it for unions). */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        new GraphQLError('Introspection is turned off on this gateway (INTROSPECTION=false).', {
          nodes: node,
          extensions: { code: 'FORBIDDEN', setting: 'INTROSPECTION', http: { status: 403 } },
        }),
      );
    }
  },
});
