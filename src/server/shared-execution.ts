/**
 * One execution per (event, operation), shared by every subscriber that asked
 * for the same selection: graphql-js executes a subscription's selection set
 * once per event per subscriber, and with thousands of subscribers of one run
 * that execution (and the garbage it leaves) is most of the gateway's work.
 * The run log hands the same event object to every follower, so the result of
 * executing one event for one operation can be handed to all of them.
 *
 * What must stay true for that: the fields below the subscription's root field
 * read only the event (never the context, which differs per subscriber). The
 * root field's own subscribe resolver still runs per subscriber, with its own
 * context, so authorization and the cursor stay per subscriber. Results are
 * shared only between operations with the same document and the same values
 * of the variables used below the root field (`after` and `runId` are not).
 *
 * An envelop plugin: it applies to graphql-ws and SSE alike, and envelop's
 * result hooks (error masking) still run on every result.
 */
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  print,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { releasing } from '../auth/stream-guards.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

export interface SharedExecutionOptions {
  /** Results kept per operation: live followers ask for the newest events at about the same time. */
  readonly eventsPerOperation?: number;
  /** Distinct operations with a cache. */
  readonly operations?: number;
}

export function useSharedExecution({
  eventsPerOperation = 256,
  operations = 1_000,
}: SharedExecutionOptions = {}): Plugin {
  /** Operation key -> (event -> result), both in insertion order, so the oldest go first. */
  const cache = new Map<string, Map<object, Result>>();
  /** Subscribers per operation key: an operation nobody follows any more keeps no results. */
  const followers = new Map<string, number>();

  const resultsFor = (key: string): Map<object, Result> => {
    let results = cache.get(key);
    if (!results) {
      results = new Map();
      cache.set(key, results);
      if (cache.size > operations) cache.delete(cache.keys().next().value as string);
    }
    return results;
  };

  async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source; // an error result: envelop masks it
    const key = operationKey(args);
    const run = (event: unknown): Result => execute({ ...args, rootValue: event });
    if (key !== undefined) followers.set(key, (followers.get(key) ?? 0) + 1);
    const leave = () => {
      if (key === undefined) return;
      const left = (followers.get(key) ?? 1) - 1;
      if (left > 0) followers.set(key, left);
      else {
        followers.delete(key);
        cache.delete(key);
      }
    };
    const mapped = mapEvents(source as AsyncIterableIterator<unknown>, (event) => {
      if (key === undefined || typeof event !== 'object' || event === null) return run(event);
      const results = resultsFor(key);
      let result = results.get(event);
      if (!result) {
        result = run(event);
        results.set(event, result);
        if (results.size > eventsPerOperation) results.delete(results.keys().next().value as object);
      }
      return result;
    });
    return releasing(mapped, leave);
  }

  return {
    onSubscribe: ({ setSubscribeFn }) => {
      setSubscribeFn(subscribe as never);
    },
  };
}

/**
 * What makes two subscriptions' per-event results equal: the document, the
 * operation, and the values of the variables used below the root fields.
 * Undefined when the operation cannot be identified (then nothing is shared).
 */
function operationKey(args: ExecutionArgs): string | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return undefined;
  const used = [...variablesBelowRoot(args.document, operation)].sort();
  const values = args.variableValues ?? {};
  return `${operation.name?.value ?? ''}\n${print(args.document)}\n${JSON.stringify(used.map((name) => values[name] ?? null))}`;
}

/** Variables read by the root fields' selections and directives, and by any fragment (not the root fields' arguments). */
function variablesBelowRoot(document: DocumentNode, operation: OperationDefinitionNode): Set<string> {
  const names = new Set<string>();
  const collect = { Variable: (node: { name: { value: string } }) => void names.add(node.name.value) };
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      for (const directive of selection.directives ?? []) visit(directive, collect);
      if (selection.selectionSet) visit(selection.selectionSet, collect);
    } else {
      visit(selection, collect);
    }
  }
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, collect);
  }
  return names;
}

/** Maps an event stream to results; return() reaches the source, so its reader is released. */
function mapEvents(
  source: AsyncIterableIterator<unknown>,
  map: (event: unknown) => Result,
): AsyncIterableIterator<ExecutionResult> {
  return {
    async next() {
      const item = await source.next();
      if (item.done) return { done: true, value: undefined };
      return { done: false, value: await map(item.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      if (source.throw) await source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
