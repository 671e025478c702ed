/**
 * The catalog of a scale run, written straight into the agent's catalog
 * (PUT /v1/txn, 32 instances with their checks per transaction) on nodes of
 * their own, as a datacenter of many hosts looks; and the single changes the
 * run times (an instance added, its check flipped, removed).
 */
export const NODE_PREFIX = 'bench-node-';

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

async function put(address: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${address}${path}`, { method: 'PUT', body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`bench: PUT ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
}

function instanceOps(service: string, id: string, node: string, port: number, status: string): object[] {
  return [
    { Service: { Verb: 'set', Node: node, Service: { ID: id, Service: service, Address: '127.0.0.1', Port: port } } },
    { Check: { Verb: 'set', Check: { Node: node, CheckID: `service:${id}`, Name: 'bench', Status: status, ServiceID: id } } },
  ];
}

/**
 * `services` × `instances` passing instances on `port`, over `nodes` nodes (default: one per
 * instance, instance i of each service on node i); with more nodes than instances, the services'
 * instances take the nodes in turn, so each node holds services × instances / nodes of them.
 */
export async function seedCatalog(address: string, services: number, instances: number, port: number, nodes = instances): Promise<void> {
  for (let n = 0; n < nodes; n++) await put(address, '/v1/catalog/register', { Node: `${NODE_PREFIX}${n}`, Address: '127.0.0.1' });
  const ops: object[][] = [];
  let batch: object[] = [];
  for (let s = 0; s < services; s++) {
    for (let n = 0; n < instances; n++) {
      batch.push(...instanceOps(serviceName(s), `${serviceName(s)}-${n}`, `${NODE_PREFIX}${(s * instances + n) % nodes}`, port, 'passing'));
      if (batch.length >= 64) {
        ops.push(batch);
        batch = [];
      }
    }
  }
  if (batch.length) ops.push(batch);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < ops.length) await put(address, '/v1/txn', ops[next++]);
  }));
}

export type ProbeStep = 'added' | 'critical' | 'passing' | 'removed';
export const PROBE_STEPS: readonly ProbeStep[] = ['added', 'critical', 'passing', 'removed'];

/** One change to the probe instance of `service` (on `port`, node 0); `added` after `removed` starts again. */
export async function probeChange(address: string, service: string, port: number, step: ProbeStep): Promise<void> {
  const id = `${service}-probe`;
  const node = `${NODE_PREFIX}0`;
  if (step === 'removed') return put(address, '/v1/catalog/deregister', { Node: node, ServiceID: id });
  await put(address, '/v1/txn', instanceOps(service, id, node, port, step === 'critical' ? 'critical' : 'passing'));
}
