/**
 * The gateway in a child process (bench/processes/gateway.ts), so that its
 * memory and CPU are its own: what the benches measure it with.
 */
import { type BenchChild, spawnBenchProcess } from './child-process.js';

export interface ChildGateway {
  /** http://127.0.0.1:<port>/graphql */
  readonly url: string;
  readonly wsUrl: string;
  readonly pid: number;
  /** The gateway's /metrics, name (with labels, if any) to value. */
  metrics(): Promise<Map<string, number>>;
  /** Triggers a workflow through the gateway's `triggerWorkflow` mutation (GraphQL over HTTP). */
  trigger(workflow: string, input: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export interface ChildGatewayOptions {
  /** The engine connection (HATCHET_CLIENT_*), and any gateway configuration. */
  readonly env: Record<string, string>;
  /** Write a V8 CPU profile of the gateway process into this folder when it stops. */
  readonly cpuProfileDir?: string;
}

/** Parses Prometheus text: `name{labels} value` per line. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    if (match?.[1] && match[2]) values.set(match[1], Number(match[2]));
  }
  return values;
}

export async function startChildGateway(options: ChildGatewayOptions): Promise<ChildGateway> {
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child: BenchChild = spawnBenchProcess(
    new URL('../processes/gateway.ts', import.meta.url),
    options.env,
    nodeArgs,
  );
  const { url } = await child.next<{ url: string }>('benchGateway', 180_000);
  const base = url.replace(/\/graphql$/, '');
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid,
    async metrics() {
      const response = await fetch(`${base}/metrics`);
      return parseMetrics(await response.text());
    },
    async trigger(workflow, input) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation($w: String!, $i: JSON) { triggerWorkflow(workflow: $w, input: $i) { runId } }',
          variables: { w: workflow, i: input },
        }),
      });
      const body = (await response.json()) as { data?: { triggerWorkflow: { runId: string } }; errors?: unknown };
      if (!body.data) throw new Error(`trigger failed: ${JSON.stringify(body.errors)}`);
      return body.data.triggerWorkflow.runId;
    },
    stop: () => child.stop(),
  };
}
