/**
 * One subscription to a run over SSE (yoga's distinct-connections mode, as
 * graphql-sse speaks it), read by hand so a test sees every event, every error
 * result and how the stream ended, including a connection the server lost.
 */
import { RUN_EVENTS, type WireEvent } from '../operations.js';
import type { Follow, FollowEnd, WireError } from './raw-ws.js';

/**
 * Follows `runId` (after `after`) over SSE at `url` until the stream ends; same
 * shape as followRun: error results land in `errors`, a stream that ended
 * without its `complete` event ends as `closed` (code 1006).
 */
export function followRunSse(
  url: string,
  runId: string,
  { after, onEvent }: { after?: string | undefined; onEvent?: (event: WireEvent, follow: Follow) => void } = {},
): Follow {
  const events: WireEvent[] = [];
  const errors: WireError[] = [];
  const abort = new AbortController();
  const follow: Follow = {
    events,
    errors,
    ended: undefined as unknown as Promise<FollowEnd>,
    lastCursor: () => events.at(-1)?.cursor,
    terminate: () => abort.abort(),
  };
  (follow as { ended: Promise<FollowEnd> }).ended = (async (): Promise<FollowEnd> => {
    let completed = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: RUN_EVENTS, variables: { runId, ...(after ? { after } : {}) } }),
        signal: abort.signal,
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          const type = lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('');
          if (type === 'complete') completed = true;
          if (type !== 'next' || !data) continue;
          const result = JSON.parse(data) as { data?: { workflowRunEvents: WireEvent } | null; errors?: WireError[] };
          if (result.data?.workflowRunEvents) {
            events.push(result.data.workflowRunEvents);
            onEvent?.(result.data.workflowRunEvents, follow);
          }
          if (result.errors) errors.push(...result.errors);
        }
      }
    } catch {
      // aborted, or the connection was lost
    }
    if (completed) return { how: 'complete' };
    return { how: 'closed', code: 1006 };
  })();
  return follow;
}
