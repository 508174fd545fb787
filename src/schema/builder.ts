/**
 * The Pothos builder: declares the context and scalars once. One file per
 * domain noun adds its types and fields; index.ts assembles the schema.
 */
import SchemaBuilder from '@pothos/core';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { GatewayAuth } from '../auth/gateway-auth.js';
import type { Principal } from '../auth/principal.js';
import type { RunHub } from '../runs/run-hub.js';
import type { RunSource, WorkflowGateway } from '../runs/run-source.js';
import type { WorkflowCatalog } from '../runs/workflow-catalog.js';

/** The gateway's services, the same for every request. */
export interface GatewayServices {
  readonly runs: RunHub;
  readonly engine: RunSource & WorkflowGateway;
  readonly workflows: WorkflowCatalog;
  readonly auth: GatewayAuth;
}

/** What every resolver gets: the services, who asks, and over which transport. */
export interface GatewayContext extends GatewayServices {
  readonly principal: Principal;
  /** `ws`: graphql-ws (the connection is counted once, at connect); `http`: HTTP or SSE. */
  readonly transport: 'http' | 'ws';
  /** The HTTP request (HTTP and SSE only). */
  readonly request?: Request;
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
