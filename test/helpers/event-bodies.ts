/** Event bodies for tests of the run log: a text chunk of step "work" and a run's successful end. */
import type { RunEventBody } from '../../src/events/run-event.js';

export const AT = new Date('2026-01-01T00:00:00.000Z');

export const chunk = (data: string): RunEventBody => ({
  kind: 'StreamChunk',
  stepId: 't',
  stepName: 'work',
  attempt: 1,
  data,
});

export const finished: RunEventBody = { kind: 'RunStatus', status: 'COMPLETED', output: { ok: true }, error: null };
