/**
 * The Pothos builder: declares the context and scalars once. One file per
 * domain noun adds its types and fields; index.ts assembles the schema.
 */
import SchemaBuilder from '@pothos/core';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { RunHub } from '../runs/run-hub.js';
import type { RunSource, WorkflowGateway } from '../runs/run-source.js';
import type { WorkflowCatalog } from '../runs/workflow-catalog.js';

/** What every resolver gets: the gateway's services, nothing per-request yet. */
export interface GatewayContext {
  readonly runs: RunHub;
  readonly engine: RunSource & WorkflowGateway;
  readonly workflows: WorkflowCatalog;
}

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({ defaultFieldNullability: false });

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({ description: 'Read what this gateway can trigger and the state of runs.' });
builder.mutationType({ description: 'Start and cancel workflow runs.' });
builder.subscriptionType({ description: 'Follow workflow runs live.' });
