/**
 * Prometheus metrics at /metrics (prom-client): the run hub's counts, read
 * when scraped, plus the process's default metrics. One registry per gateway,
 * so two gateways in one process (tests) never share or clash.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { RunHub } from '../runs/run-hub.js';

export function createMetrics(runs: RunHub): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hatchet_gateway_process_' });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge(
    'hatchet_gateway_upstream_listeners',
    'Engine listeners attached now: one for every run this process triggered, plus hatchet_gateway_run_listeners.',
    () => runs.stats().upstreams,
  );
  gauge(
    'hatchet_gateway_run_listeners',
    'Engine listeners of single runs (triggered elsewhere, or taken over from another replica): at most one per run.',
    () => runs.stats().runListeners,
  );
  gauge('hatchet_gateway_subscribers', 'Clients following a run now.', () => runs.stats().subscribers);
  gauge('hatchet_gateway_runs', 'Runs whose log is held in memory.', () => runs.stats().runs);
  gauge('hatchet_gateway_events', 'Events held in all run logs.', () => runs.stats().events);
  gauge('hatchet_gateway_log_bytes', 'Estimated bytes held in all run logs.', () => runs.stats().bytes);
  return registry;
}
