/**
 * `window.__gateway`: what the page lets a test (or a curious person, from the
 * console) see of its connection, and the one thing it lets them do: drop the
 * WebSocket as a network failure would, to watch the page resume.
 */

export interface PageHook {
  /** The run being followed. */
  readonly runId: () => string | undefined;
  /** The cursor of the last event drawn. */
  readonly cursor: () => string | undefined;
  /** Every connection state of the current run so far, by `kind`. */
  readonly connectionStates: () => readonly string[];
  /** Closes the WebSocket as a network failure would; false when none is open. */
  dropConnection(): boolean;
}

declare global {
  interface Window {
    __gateway?: PageHook;
  }
}
