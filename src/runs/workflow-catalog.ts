/**
 * Which workflows this gateway may trigger: the ones registered on the engine,
 * narrowed by the GATEWAY_WORKFLOWS allow-list when it is set. The engine's
 * list is cached briefly so a burst of triggers costs one REST call.
 */
import { GatewayError } from '../errors.js';
import type { WorkflowGateway } from './run-source.js';

export class WorkflowCatalog {
  /** The promise is cached, so concurrent callers share one REST call. */
  #cached: { names: Promise<string[]>; at: number } | undefined;

  constructor(
    private readonly engine: WorkflowGateway,
    private readonly allowList: readonly string[],
    private readonly ttlMs = 5_000,
  ) {}

  /** The triggerable workflow names, sorted. */
  async list(): Promise<string[]> {
    const now = Date.now();
    if (!this.#cached || now - this.#cached.at > this.ttlMs) {
      const names = this.engine.listWorkflows().then((registered) => {
        const allowed = this.allowList.length > 0 ? registered.filter((n) => this.allowList.includes(n)) : registered;
        return [...new Set(allowed)].sort();
      });
      this.#cached = { names, at: now };
      names.catch(() => {
        if (this.#cached?.names === names) this.#cached = undefined; // do not cache a failure
      });
    }
    return this.#cached.names;
  }

  /** Throws WORKFLOW_NOT_FOUND unless `name` may be triggered. */
  async assertTriggerable(name: string): Promise<void> {
    const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
    if (this.allowList.length > 0 && !this.allowList.includes(name)) {
      throw new GatewayError('WORKFLOW_NOT_FOUND', `Workflow "${shown}" is not one this gateway may trigger.`);
    }
    let names = await this.list();
    // it may have been registered since the last look: look again, at most once a second
    if (!names.includes(name) && this.#cached && Date.now() - this.#cached.at > 1_000) {
      this.#cached = undefined;
      names = await this.list();
    }
    if (!names.includes(name)) {
      throw new GatewayError('WORKFLOW_NOT_FOUND', `Workflow "${shown}" is not registered on the engine.`);
    }
  }
}
