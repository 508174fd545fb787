/** The run-token deadline on a subscription's stream. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endingAt } from '../../src/auth/stream-guards.js';

async function* items(...values: string[]) {
  for (const value of values) yield value;
}

async function drain(iterator: AsyncIterableIterator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterator) out.push(item);
  return out;
}

describe('endingAt', () => {
  it('should end a replay at once with the last item when the deadline already passed', async () => {
    expect(await drain(endingAt(items('a', 'b'), Date.now() - 1, () => 'expired'))).toEqual(['expired']);
  });

  it('should pass everything through before the deadline', async () => {
    expect(await drain(endingAt(items('a', 'b'), Date.now() + 60_000, () => 'expired'))).toEqual(['a', 'b']);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('should not interrupt a stream that handed over its final item, even past the deadline', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const deadline = Date.now() + 60_000;
    const guarded = endingAt(
      items('a', 'end'),
      deadline,
      () => 'expired',
      (item) => item === 'end',
    );
    const out: string[] = [];
    for await (const item of guarded) {
      out.push(item);
      // the deadline passes between the final item and the stream's own end
      if (item === 'end') vi.setSystemTime(deadline + 1);
    }
    expect(out).toEqual(['a', 'end']);
    // without the final item, the same moment ends the stream with the last item
    vi.setSystemTime(deadline - 60_000);
    const plain = endingAt(items('a', 'b'), deadline, () => 'expired');
    const seen: string[] = [];
    for await (const item of plain) {
      seen.push(item);
      if (item === 'a') vi.setSystemTime(deadline + 1);
    }
    expect(seen).toEqual(['a', 'expired']);
  });
});
