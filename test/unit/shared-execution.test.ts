/**
 * Shared execution: subscribers of the same selection get one execution per
 * event between them, while each keeps its own subscribe resolver (context,
 * arguments) and selections that differ are executed apart.
 */

import { parse } from 'graphql';
import { createSchema, createYoga, Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useSharedExecution } from '../../src/server/shared-execution.js';

function setup() {
  const events = [{ n: 1 }, { n: 2 }, { n: 3 }];
  const counts = { subscribe: 0, value: 0 };
  const schema = createSchema<{ who: string }>({
    typeDefs: /* GraphQL */ `
      type Event { value(times: Int = 1): Int! }
      type Query { ok: Boolean }
      type Subscription { events(from: Int!): Event! }
    `,
    resolvers: {
      Subscription: {
        events: {
          subscribe: (_root: unknown, { from }: { from: number }) => {
            counts.subscribe++;
            return new Repeater<{ n: number }>(async (push, stop) => {
              for (const event of events.slice(from)) await push(event);
              stop();
            });
          },
          resolve: (event: { n: number }) => event,
        },
      },
      Event: {
        value: (event: { n: number }, { times }: { times: number }) => {
          counts.value++;
          return event.n * times;
        },
      },
    },
  });
  const yoga = createYoga({ schema, plugins: [useSharedExecution()] });
  const subscribe = async (query: string, variables: Record<string, unknown>) => {
    const { subscribe: run, contextFactory } = yoga.getEnveloped({ request: new Request('http://x') });
    const stream = (await run({
      schema: yoga.getEnveloped({}).schema,
      document: parse(query),
      variableValues: variables,
      contextValue: await contextFactory(),
    })) as AsyncIterable<{ data?: { events: { value: number } } }>;
    const values: number[] = [];
    for await (const result of stream) values.push(result.data?.events.value ?? -1);
    return values;
  };
  return { counts, subscribe };
}

const QUERY = 'subscription S($from: Int!, $times: Int) { events(from: $from) { value(times: $times) } }';

describe('useSharedExecution', () => {
  it('should execute each event once for subscribers of the same selection, whatever their root arguments', async () => {
    const { counts, subscribe } = setup();
    const results = await Promise.all([
      subscribe(QUERY, { from: 0, times: 2 }),
      subscribe(QUERY, { from: 0, times: 2 }),
      subscribe(QUERY, { from: 1, times: 2 }),
    ]);
    expect(results).toEqual([
      [2, 4, 6],
      [2, 4, 6],
      [4, 6],
    ]);
    expect(counts.subscribe).toBe(3);
    expect(counts.value).toBe(3);
  });

  it('should execute apart when a variable below the root field differs', async () => {
    const { counts, subscribe } = setup();
    const results = await Promise.all([
      subscribe(QUERY, { from: 0, times: 1 }),
      subscribe(QUERY, { from: 0, times: 3 }),
    ]);
    expect(results).toEqual([
      [1, 2, 3],
      [3, 6, 9],
    ]);
    expect(counts.value).toBe(6);
  });
});
