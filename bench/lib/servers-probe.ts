/**
 * When a change reached HAProxy: polls `show servers state <backend>` on the
 * worker's admin socket until the server on the probe port is in service
 * (`ready`) or out of it (`gone`: absent, in maintenance, or draining: HAProxy
 * sends a removed instance no new request from the moment it drains, while the
 * requests it still serves finish before it is deleted).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdminCli, parseServersState } from '../../src/haproxy/index.ts';
import { isDraining, isMaint } from '../../src/haproxy/runtime/servers-state.ts';
import { backendName } from '../../src/model/identifiers.ts';

export type Wanted = 'ready' | 'gone';

export function createServersProbe(adminSocket: string) {
  const admin = createAdminCli({ socketPath: adminSocket, exchangeTimeoutMs: 2000 });
  async function state(service: string, port: number): Promise<Wanted> {
    const text = await admin.command(`show servers state ${backendName(service)}`, { expectOutput: true });
    const server = parseServersState(text).servers.find((s) => s.port === port && s.address === '127.0.0.1');
    return server && !isMaint(server) && !isDraining(server) ? 'ready' : 'gone';
  }
  return {
    /** Milliseconds from `since` (Date.now()) until the probe server is `wanted`, or undefined after timeoutMs. */
    async waitFor(service: string, port: number, wanted: Wanted, since: number, timeoutMs: number): Promise<number | undefined> {
      while (Date.now() - since < timeoutMs) {
        const now = await state(service, port).catch(() => undefined);
        if (now === wanted) return Date.now() - since;
        await sleep(5);
      }
      return undefined;
    },
  };
}
