import { setTimeout as sleep } from 'node:timers/promises';
import { healthServiceQuery, type ConsulClient, type InstanceEntry } from '../consul/index.ts';
import { parseDuration } from '../config/index.ts';
import { ConfigError, errorMessage, IpxError } from '../errors.ts';
import { fieldLengthProblem } from '../model/limits.ts';
import { acceptServiceNames } from '../model/service-names.ts';
import type { BackendStatus } from '../daemon/status-document.ts';
import { adminRequest } from './admin-request.ts';
import { builtInMetaSchema, type InstanceMetaSchema } from './instance-meta.ts';
import type { CliIo } from './io.ts';
import type { AgentServiceRegistration } from '../consul/index.ts';

export const DEFAULT_WAIT = '60s';
const POLL_MS = 250;

/** What `ipx register` sends, less the check. */
export type Registration = Omit<AgentServiceRegistration, 'check'>;

/**
 * What the daemon would refuse, refused before anything reaches Consul: the
 * service name grammar and field lengths the model applies, and `ipx-*` meta
 * against the instance meta schema. Throws ConfigError listing every problem.
 */
export function checkRegistration(registration: Registration, fieldLength: number, schema: InstanceMetaSchema = builtInMetaSchema): void {
  const problems: string[] = [];
  const named = acceptServiceNames([{ name: registration.name, instances: [] }]);
  for (const rejection of named.rejections) problems.push(`--name ${JSON.stringify(registration.name)}: ${rejection.reason}`);
  const asInstance: InstanceEntry = { ...registration, node: '', status: 'passing', weight: 1 };
  const tooLong = fieldLengthProblem(asInstance, fieldLength);
  if (tooLong) problems.push(tooLong);
  for (const problem of schema.check(registration.meta)) problems.push(`--meta ${problem.key}: ${problem.reason}`);
  if (problems.length > 0) throw new ConfigError(`register: nothing was registered: ${problems.join('; ')}`);
}

export function parseWait(value: string | boolean): number {
  const text = value === true ? DEFAULT_WAIT : String(value);
  const ms = parseDuration(text);
  if (ms === undefined || ms === 0) throw new ConfigError(`register: --wait-healthy ${text} is not a duration; write it like 30s or 2m`);
  return ms;
}

/** Until Consul reports every check of the instance passing, or the deadline. */
export async function waitHealthy(client: ConsulClient, service: string, id: string, deadline: number, io: CliIo): Promise<void> {
  const started = Date.now();
  let last = 'not seen in Consul yet';
  for (;;) {
    try {
      const { data } = await healthServiceQuery(service).fetch(client, { index: '0', wait: 0, timeout: 5000 });
      const instance = data.find((i) => i.id === id);
      if (instance?.status === 'passing') break;
      last = instance ? `Consul reports it ${instance.status}` : 'not seen in Consul yet';
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) throw timeout(`${id} did not become healthy: ${last}`, started);
    await sleep(POLL_MS);
  }
  io.stdout.write(`healthy: Consul reports ${id} passing after ${seconds(started)}\n`);
}

/** Until the running watch has applied a server for the instance that takes traffic, and HAProxy reports it up. */
export async function waitRoutable(admin: string, service: string, id: string, deadline: number, io: CliIo): Promise<void> {
  const started = Date.now();
  let last = 'not in the applied configuration yet';
  for (;;) {
    try {
      const res = await adminRequest('register --wait-routable', admin, `/status?service=${encodeURIComponent(service)}`);
      const { backends } = (await res.json()) as { backends: BackendStatus[] };
      const server = backends[0]?.servers.find((s) => s.instanceId === id);
      if (server?.state === 'ready' && server.live?.state === 'up') {
        io.stdout.write(`routable: the ipx watch at ${admin} routes ${backends[0]?.host} to ${id} (server ${server.name}) after ${seconds(started)}\n`);
        return;
      }
      last = server ? `server ${server.name} is ${server.state}, HAProxy reports ${server.live?.state ?? 'nothing'}` : 'not in the applied configuration yet';
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) throw timeout(`${id} is not routable: ${last}`, started);
    await sleep(POLL_MS);
  }
}

function timeout(what: string, started: number): IpxError {
  return new IpxError('E_TIMEOUT', `register: gave up after ${seconds(started)}: ${what}; the instance stays registered (ipx deregister removes it)`);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
