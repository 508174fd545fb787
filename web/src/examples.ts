/**
 * The example workflows of examples/workers/, as the page offers them: what
 * each does and an input to start from. The names are a contract with the
 * example worker (exampleWorkflowNames); other workflows the gateway lists are
 * offered with an empty input.
 */

export interface Example {
  readonly name: string;
  readonly description: string;
  readonly input: Record<string, unknown>;
}

export const examples: readonly Example[] = [
  {
    name: 'stream-text',
    description: 'Step `stream` streams the text in chunks, then returns { length, chunks }.',
    input: {
      text: 'Every run is recorded once, from before its first event, into an ordered log that any number of clients replay and follow.',
      chunkSize: 6,
      delayMs: 80,
    },
  },
  {
    name: 'stream-file',
    description: 'Step `render` streams a 320x200 PNG as file chunks, then returns { name, size, sha256 }.',
    input: {},
  },
  {
    name: 'multi-step',
    description: 'A DAG fetch -> transform -> summarize; each step streams progress and returns JSON.',
    input: { delayMs: 400 },
  },
  {
    name: 'always-fails',
    description: 'Step `explode` throws "explode failed: <message>", with no retries.',
    input: { message: 'boom' },
  },
  {
    name: 'retry-once',
    description: 'Step `attempt` fails on attempt 1 and succeeds on the retry.',
    input: {},
  },
];
