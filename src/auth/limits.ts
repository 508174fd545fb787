/**
 * The gateway's request limits that GraphQL validation cannot express: the
 * size and depth of a trigger's input, triggers per key per minute, and open
 * streams per key. Each passes LIMIT_EXCEEDED or RATE_LIMITED with the name of
 * its setting, so a client knows what to change.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { GatewayError } from '../errors.js';

/** Throws LIMIT_EXCEEDED when `value` serializes to more than `maxBytes` or nests deeper than `maxDepth`. */
export function assertJsonWithin(value: unknown, name: string, maxBytes: number, maxDepth: number): void {
  const depth = jsonDepth(value, maxDepth + 1);
  if (depth > maxDepth) {
    throw new GatewayError('LIMIT_EXCEEDED', `\`${name}\` nests deeper than ${maxDepth} levels.`, {
      extensions: { limit: 'MAX_INPUT_DEPTH', max: maxDepth },
    });
  }
  const bytes = Buffer.byteLength(JSON.stringify(value ?? null));
  if (bytes > maxBytes) {
    throw new GatewayError(
      'LIMIT_EXCEEDED',
      `\`${name}\` is ${bytes} bytes of JSON; at most ${maxBytes} are allowed.`,
      {
        extensions: { limit: 'MAX_INPUT_BYTES', max: maxBytes },
      },
    );
  }
}

/** Depth of nested arrays and objects, counted without recursion and no further than `stopAt`. */
function jsonDepth(value: unknown, stopAt: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (item === null || typeof item !== 'object') continue;
    const here = depth + 1;
    if (here > max) max = here;
    if (max >= stopAt) return max;
    for (const child of Object.values(item)) stack.push([child, here]);
  }
  return max;
}

/** Triggers per principal per minute (in this process). */
export class TriggerRateLimit {
  readonly #limiter: RateLimiterMemory | undefined;

  constructor(readonly perMinute: number) {
    this.#limiter = perMinute > 0 ? new RateLimiterMemory({ points: perMinute, duration: 60 }) : undefined;
  }

  /** Takes one trigger from `name`'s allowance; throws RATE_LIMITED when none is left. */
  async consume(name: string): Promise<void> {
    if (!this.#limiter) return;
    try {
      await this.#limiter.consume(name);
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      throw new GatewayError('RATE_LIMITED', `At most ${this.perMinute} triggers per minute for this key.`, {
        extensions: { limit: 'TRIGGER_RATE_LIMIT', retryAfterMs: result.msBeforeNext },
      });
    }
  }
}

/** Open connections (graphql-ws sockets, SSE streams) per principal. */
export class ConnectionLimit {
  readonly #open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts a connection of `name`; returns its release, or undefined when `name` is at the limit. */
  acquire(name: string): (() => void) | undefined {
    const open = this.#open.get(name) ?? 0;
    if (open >= this.max) return undefined;
    this.#open.set(name, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(name) ?? 1) - 1;
      if (left <= 0) this.#open.delete(name);
      else this.#open.set(name, left);
    };
  }

  /** The error a refused connection gets. */
  error(): GatewayError {
    return new GatewayError('LIMIT_EXCEEDED', `At most ${this.max} open connections per key.`, {
      extensions: { limit: 'MAX_CONNECTIONS_PER_KEY', max: this.max },
    });
  }
}
