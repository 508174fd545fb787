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
  | 'MAX_QUERY_NESTING'
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
    // graphql-js parses recursively: a deep enough list literal overflows the stack
    // before the token limit stops it, so nesting is counted on the text first
    {
      onParse: ({ params }) => {
        const text = typeof params.source === 'string' ? params.source : params.source.body;
        if (nestingOf(text, config.MAX_QUERY_NESTING) > config.MAX_QUERY_NESTING) {
          throw new GraphQLError(`Syntax Error: the document nests deeper than ${config.MAX_QUERY_NESTING} levels.`, {
            extensions: {
              code: 'LIMIT_EXCEEDED',
              limit: 'MAX_QUERY_NESTING',
              max: config.MAX_QUERY_NESTING,
              http: { status: 400 },
            },
          });
        }
      },
    },
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

/** Deepest bracket nesting of a GraphQL document, outside strings and comments; stops counting past `stopAt`. */
export function nestingOf(text: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
    } else if (c === '"') {
      if (text.startsWith('"""', i)) {
        // a block string ends at the first """ that is not escaped as \"""
        let j = i + 3;
        while (j < text.length && !text.startsWith('"""', j)) j += text.startsWith('\\"""', j) ? 4 : 1;
        i = j + 2;
      } else {
        for (i++; i < text.length && text[i] !== '"' && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
      }
    } else if (c === '{' || c === '[' || c === '(') {
      depth++;
      if (depth > max) max = depth;
      if (max > stopAt) return max;
    } else if (c === '}' || c === ']' || c === ')') {
      depth--;
    }
  }
  return max;
}
