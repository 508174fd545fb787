/**
 * Everything the gateway checks about who asks, built once from the
 * configuration: the authenticator (API keys, run tokens) and the limits
 * counted per key. Resolvers and the graphql-ws adapter share this one object.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ApiKeyRing, parseApiKeys, readApiKeysFile } from './api-keys.js';
import { Authenticator } from './authenticate.js';
import { ConnectionLimit, TriggerRateLimit } from './limits.js';
import { RunTokens } from './run-tokens.js';

export type AuthConfig = Pick<
  Config,
  | 'GATEWAY_API_KEYS'
  | 'GATEWAY_API_KEYS_FILE'
  | 'RUN_TOKEN_SECRET'
  | 'RUN_TOKEN_TTL_MS'
  | 'REDIS_URL'
  | 'MAX_INPUT_BYTES'
  | 'MAX_INPUT_DEPTH'
  | 'TRIGGER_RATE_LIMIT'
  | 'MAX_SUBSCRIPTIONS_PER_CONNECTION'
  | 'MAX_CONNECTIONS_PER_KEY'
>;

export interface GatewayAuth {
  readonly authenticator: Authenticator;
  readonly triggers: TriggerRateLimit;
  readonly connections: ConnectionLimit;
  readonly maxInputBytes: number;
  readonly maxInputDepth: number;
  readonly maxSubscriptionsPerConnection: number;
}

/** Throws a readable Error on a bad key list (the start stops with it). */
export function createGatewayAuth(config: AuthConfig, logger: Logger): GatewayAuth {
  const keys = [
    ...(config.GATEWAY_API_KEYS ? parseApiKeys(config.GATEWAY_API_KEYS) : []),
    ...(config.GATEWAY_API_KEYS_FILE ? readApiKeysFile(config.GATEWAY_API_KEYS_FILE) : []),
  ];
  const ring = new ApiKeyRing(keys);
  if (ring.enabled && !config.RUN_TOKEN_SECRET && config.REDIS_URL) {
    logger.warn('RUN_TOKEN_SECRET is not set: run tokens from this replica will not work on the others');
  }
  const secret = config.RUN_TOKEN_SECRET ?? randomBytes(32).toString('base64url');
  logger.info({ keys: keys.length, authentication: ring.enabled ? 'on' : 'off' }, 'authentication');
  return {
    authenticator: new Authenticator(ring, new RunTokens(secret, config.RUN_TOKEN_TTL_MS)),
    triggers: new TriggerRateLimit(config.TRIGGER_RATE_LIMIT),
    connections: new ConnectionLimit(config.MAX_CONNECTIONS_PER_KEY),
    maxInputBytes: config.MAX_INPUT_BYTES,
    maxInputDepth: config.MAX_INPUT_DEPTH,
    maxSubscriptionsPerConnection: config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
  };
}
