/**
 * The effective policy as HAProxy settings for one backend: only validated
 * integers and fixed keywords, so the templates and the runtime API write the
 * same words (a server added at runtime inherits nothing from `default-server`).
 */
import { BALANCE_HEADER } from './schema.ts';
import type { EffectivePolicy } from './merge.ts';

export interface BackendSettings {
  /** `roundrobin`, `leastconn`, `random`, `first`, `source` or `hdr(<name>)`. */
  readonly balance: string;
  /** Hash-based balancing is consistent, so servers added at runtime take their share without remapping every key. */
  readonly hashConsistent: boolean;
  readonly timeouts: { readonly connect: number; readonly server: number; readonly queue: number };
  readonly retries: number;
  /** Space-separated `retry-on` conditions. */
  readonly retryOn: string;
  /** Active HTTP check path, or null (a TCP check when `check` is on without it). */
  readonly healthCheckPath: string | null;
  /** Keywords every server line and every `add server` carries; empty for none. */
  readonly serverKeywords: string;
}

export function backendSettings(policy: EffectivePolicy): BackendSettings {
  const tcp = policy.protocol === 'tcp';
  // A TCP stream has no header: hash-header balances it round robin.
  const header = tcp ? undefined : BALANCE_HEADER.exec(policy.balance)?.[1];
  const balance = header !== undefined ? `hdr(${header})` : policy.balance === 'hash-source' ? 'source' : BALANCE_HEADER.test(policy.balance) ? 'roundrobin' : policy.balance;
  return {
    balance,
    hashConsistent: header !== undefined || policy.balance === 'hash-source',
    timeouts: { ...policy.timeouts },
    retries: policy.retries.attempts,
    retryOn: policy.retries.on.join(' '),
    healthCheckPath: policy.healthCheck.path ?? null,
    serverKeywords: serverKeywords(policy),
  };
}

function serverKeywords(policy: EffectivePolicy): string {
  const breaker = policy.circuitBreaker ?? {};
  const { healthCheck } = policy;
  const words: string[] = [];
  // observe layer7 is a silent no-op without `check` on the server: ejection brings an active check with it.
  if (healthCheck.path !== undefined || breaker.consecutiveErrors !== undefined) {
    words.push(`check inter ${healthCheck.interval}ms rise ${healthCheck.rise} fall ${healthCheck.fall}`);
  }
  // A TCP service has no HTTP status: connection errors are what can be observed.
  const layer = policy.protocol === 'tcp' ? 'layer4' : 'layer7';
  if (breaker.consecutiveErrors !== undefined) words.push(`observe ${layer} error-limit ${breaker.consecutiveErrors} on-error mark-down`);
  if (breaker.slowStart !== undefined && breaker.slowStart > 0) words.push(`slowstart ${breaker.slowStart}ms`);
  if (breaker.maxConnsPerInstance !== undefined) words.push(`maxconn ${breaker.maxConnsPerInstance}`);
  if (breaker.maxQueuePerInstance !== undefined) words.push(`maxqueue ${breaker.maxQueuePerInstance}`);
  if (policy.protocol === 'h2c' || policy.protocol === 'grpc') words.push('proto h2');
  return words.join(' ');
}
