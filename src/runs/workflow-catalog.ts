/**
 * Which workflows this gateway may trigger: the ones registered on the engine,
 * narrowed by the GATEWAY_WORKFLOWS allow-list when it is set. The engine's
 * list is cached briefly so a burst of triggers costs one REST call.
 */
import { GatewayError } from '../errors.js';
import type { WorkflowGateway } from './run-source.js';

export class WorkflowCatalog {
  #cached: { names: string[]; at: number } | undefined;

  constructor(
    private readonly engine: WorkflowGateway,
    private readonly allowList: readonly string[],
    private readonly ttlMs = 5_000,
  ) {}

  /** The triggerable workflow names, sorted. */
  async list(): Promise<string[]> {
    const now = Date.now();
    if (!this.#cached || now - this.#cached.at > this.ttlMs) {
      const registered = await this.engine.listWorkflows();
      const allowed = this.allowList.length > 0 ? registered.filter((n) => this.allowList.includes(n)) : registered;
      this.#cached = { names: [...new Set(allowed)].sort(), at: now };
    }
    return this.#cached.names;
  }

  /** Throws WORKFLOW_NOT_FOUND unless `name` may be triggered. */
  async assertTriggerable(name: string): Promise<void> {
    if (this.allowList.length > 0 && !this.allowList.includes(name)) {
      throw new GatewayError('WORKFLOW_NOT_FOUND', `Workflow "${name}" is not one this gateway may trigger.`);
    }
    let names = await this.list();
    if (!names.includes(name)) {
      this.#cached = undefined; // it may have been registered since the last look
      names = await this.list();
    }
    if (!names.includes(name)) {
      throw new GatewayError('WORKFLOW_NOT_FOUND', `Workflow "${name}" is not registered on the engine.`);
    }
  }
}
