/**
 * `npm run example:urql -- <workflow> '<json input>' [--sse]`: triggers a run
 * through the gateway (GATEWAY_URL, default http://127.0.0.1:4000/graphql) and
 * prints its events as they arrive, over graphql-ws or, with --sse, over SSE.
 * DROP_AFTER=<n> drops the connection after n events to show the resume.
 * GATEWAY_API_KEY: an API key (trigger and read scopes) for a gateway with
 * authentication on; the run is followed with its run token.
 */
import { followRun, type RunEvent } from './follow-run.js';

const args = process.argv.slice(2);
const [workflow = 'stream-text', input = '{}'] = args.filter((arg) => !arg.startsWith('--'));
const dropAfter = process.env['DROP_AFTER'] ? Number(process.env['DROP_AFTER']) : undefined;

const run = await followRun({
  url: process.env['GATEWAY_URL'] ?? 'http://127.0.0.1:4000/graphql',
  transport: args.includes('--sse') ? 'sse' : 'ws',
  apiKey: process.env['GATEWAY_API_KEY'] || undefined,
  workflow,
  input: JSON.parse(input) as Record<string, unknown>,
  ...(dropAfter ? { dropAfter } : {}),
  onEvent: (event) => console.log(describe(event)),
  onResume: (cursor, why) => console.log(`-- ${why}; resuming after ${cursor ?? 'the start'}`),
});
console.log(`run ${run.runId}: ${run.events.length} events over ${run.connections} connection(s)`);

/** One line per event; the switch is exhaustive, so a new event type fails to compile here. */
function describe(event: RunEvent): string {
  switch (event.__typename) {
    case 'StepStatusEvent':
      return `[${event.stepName}] ${event.status} (attempt ${event.attempt})${event.error ? `: ${event.error}` : ''}`;
    case 'StreamChunkEvent':
      return `[${event.stepName}] ${JSON.stringify(event.data)}`;
    case 'StepOutputEvent':
      return `[${event.stepName}] output ${JSON.stringify(event.output)}`;
    case 'FileChunkEvent':
      return `[${event.stepName}] file ${event.name}, chunk ${event.index + 1} of ${event.count}`;
    case 'StreamGapEvent':
      return `[${event.stepName}] lost ${event.missedChunks ?? 'some'} chunks: ${event.reason}`;
    case 'RunStatusEvent':
      return `run ${event.runStatus}${event.error ? `: ${event.error}` : ` ${JSON.stringify(event.output)}`}`;
  }
}
