/** Assembles the schema from one file per noun. */
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './enums.js';
import './workflow.js';
import './workflow-run.js';
import './run-events.js';
import './run-token.js';

export type { GatewayContext } from './builder.js';

/** The gateway's executable schema. */
export const schema: GraphQLSchema = builder.toSchema();

/** The SDL committed as schema.graphql: sorted, so diffs show real changes only. */
export function printGatewaySchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
