/**
 * identity.sourceAddress through real HAProxy: a client at an IP where
 * exactly one Consul service is registered is that service; at an IP shared
 * by two services it stays anonymous; credentials still come first. Requests
 * leave from other loopback addresses (127.0.0.x) to play the callers.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerService } from '../../src/consul/index.ts';
import { putKv } from '../helpers/consul.ts';
import { eventually } from '../helpers/http.ts';
import { sha256Hex } from '../helpers/jwt.ts';
import { startPolicyStack, type PolicyStack } from '../helpers/policy-stack.ts';
import type { Echo } from '../helpers/policy-backend.ts';

let stack: PolicyStack;
const KEY = 'key-billing-source-0123';

/** GET from `from` (a loopback address) to the ipx frontend; the status and the caller the instance saw. */
function callFrom(from: string, headers: Record<string, string> = {}): Promise<{ status: number; caller: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.ipx.http}/`, { localAddress: from, agent: false, headers: { host: 'ledger.service.internal', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const caller = res.statusCode === 200 ? (JSON.parse(body) as Echo).headers['x-ipx-caller'] : undefined;
        resolve({ status: res.statusCode ?? 0, caller: typeof caller === 'string' ? caller : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  stack = await startPolicyStack('caller-source', { identity: { sourceAddress: true, apiKeys: {} } }, (consul) => putKv(consul.agent.address, 'ipx/apikeys/billing', sha256Hex(KEY)));
  await stack.instance('ledger', 'ledger-1');
  // Callers that only need to be registered: their instances are never called.
  const register = (name: string, address: string) => registerService(stack.consul.client, { name, id: `${name}-at-${address}`, address, port: 9, check: { ttl: '1h', status: 'passing' } });
  await register('reporting', '127.0.0.3');
  await register('batch-a', '127.0.0.4');
  await register('batch-b', '127.0.0.4');
  await stack.applied('reporting', 'batch-a', 'batch-b');
  await eventually(async () => ((await callFrom('127.0.0.3')).caller === 'reporting' ? true : undefined), 20_000, 'the source map to apply');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('identity.sourceAddress', () => {
  it('names a caller by the one service registered at its IP', async () => {
    expect(await callFrom('127.0.0.3')).toEqual({ status: 200, caller: 'reporting' });
  });

  it('leaves a caller anonymous at an IP two services share', async () => {
    expect(await callFrom('127.0.0.4')).toEqual({ status: 200, caller: undefined });
  });

  it('lets credentials win over the source address, and ignores a spoofed header', async () => {
    expect(await callFrom('127.0.0.3', { 'x-api-key': KEY })).toEqual({ status: 200, caller: 'billing' });
    expect(await callFrom('127.0.0.4', { 'x-ipx-caller': 'reporting' })).toEqual({ status: 200, caller: undefined });
  });
});
