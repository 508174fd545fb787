/**
 * Starts consuming an async iterable at once and queues what it yields until
 * the single consumer reads it. Used to open an engine listener before a run
 * is triggered: nice-grpc only sends the request when iteration starts.
 */
export interface EagerStream<T> extends AsyncIterable<T> {
  /** Stops the source and ends the consumer. */
  close(): void;
}

export function eagerStream<T>(source: AsyncIterable<T>, abort: AbortController): EagerStream<T> {
  const queue: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const iterator = source[Symbol.asyncIterator]();

  void (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        queue.push(next.value);
        wake?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      wake?.();
    }
  })();

  return {
    close() {
      abort.abort();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const item = queue.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (ended) {
          if (failure) throw failure.error;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}
