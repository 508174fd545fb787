/**
 * A bounded window of concurrent sends, started in the order they were
 * submitted: what gives a counted stream backpressure (a writer waits while
 * the window is full) without waiting for each send's acknowledgement.
 */

export interface SendWindow {
  /**
   * Queues `send` behind the sends submitted before it; resolves once it has
   * started, that is once the window had room. `send` must never reject.
   */
  submit(send: () => Promise<void>): Promise<void>;
  /** Resolves once every send submitted so far has settled. */
  drained(): Promise<void>;
}

/** A window of at most `maxInFlight` sends at a time. */
export function createSendWindow(maxInFlight: number): SendWindow {
  const queue: Array<{ readonly send: () => Promise<void>; readonly started: () => void }> = [];
  const idleWaiters: Array<() => void> = [];
  let inFlight = 0;

  const settled = (): void => {
    inFlight--;
    pump();
    if (inFlight === 0 && queue.length === 0) for (const wake of idleWaiters.splice(0)) wake();
  };

  const pump = (): void => {
    while (inFlight < maxInFlight) {
      const next = queue.shift();
      if (!next) return;
      inFlight++;
      next.started();
      void next.send().finally(settled);
    }
  };

  return {
    submit: (send) =>
      new Promise<void>((started) => {
        queue.push({ send, started });
        pump();
      }),
    drained: () =>
      inFlight === 0 && queue.length === 0 ? Promise.resolve() : new Promise<void>((wake) => idleWaiters.push(wake)),
  };
}
