/**
 * Wrappers that end a subscription's stream for reasons outside the run: a
 * run token that expires, a connection slot to give back. They keep the
 * iterator protocol intact (return() reaches the source), so the run log's
 * reader is released whichever side ends first.
 */

/**
 * Ends `source` at `deadline` (epoch ms) with one last item from `last()`,
 * unless it ended before. Once `isFinal(item)` was handed over, the stream is
 * only waiting for its own end: the deadline no longer interrupts it.
 */
export function endingAt<T>(
  source: AsyncIterableIterator<T>,
  deadline: number,
  last: () => T,
  isFinal: (item: T) => boolean = () => false,
): AsyncIterableIterator<T> {
  let ended = false;
  let finalSent = false;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), Math.min(2 ** 31 - 1, Math.max(0, deadline - Date.now())));
    timer.unref();
  });
  const end = () => {
    ended = true;
    clearTimeout(timer);
  };
  return {
    async next() {
      if (ended) return { done: true, value: undefined };
      if (finalSent) {
        end();
        return source.next();
      }
      // a replay has events ready at once: the deadline must not wait for the timer to win a race
      if (Date.now() >= deadline) {
        end();
        await source.return?.();
        return { done: false, value: last() };
      }
      const result = await Promise.race([source.next(), expiry]);
      if (result === 'expired') {
        end();
        await source.return?.();
        return { done: false, value: last() };
      }
      if (result.done) end();
      else if (isFinal(result.value)) finalSent = true;
      return result;
    },
    async return(value?: unknown) {
      end();
      await source.return?.(value);
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      end();
      if (source.throw) return source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Calls `release` once when `source` ends, however it ends. */
export function releasing<T>(source: AsyncIterableIterator<T>, release: () => void): AsyncIterableIterator<T> {
  let released = false;
  const once = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  return {
    async next() {
      try {
        const result = await source.next();
        if (result.done) once();
        return result;
      } catch (error) {
        once();
        throw error;
      }
    },
    async return(value?: unknown) {
      once();
      return source.return ? source.return(value) : { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      once();
      if (source.throw) return source.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
