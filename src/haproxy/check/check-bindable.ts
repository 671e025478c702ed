import { createServer } from 'node:net';
import { HaproxyRuntimeError } from '../../errors.ts';
import type { BindTarget } from './bind-addresses.ts';

/**
 * Before a first start, tries to listen on each address briefly. HAProxy
 * would fail too, but a bind that fails at reload pauses every listener for
 * about 2 s, and its own message names no config key. Throws one error listing
 * every address that cannot be bound.
 */
export async function checkBindable(targets: ReadonlyArray<string | BindTarget>): Promise<void> {
  const problems: string[] = [];
  for (const target of targets) {
    const { address, key } = typeof target === 'string' ? { address: target, key: undefined } : target;
    const problem = await tryListen(address);
    if (problem) problems.push(describe(address, key, problem));
  }
  if (problems.length > 0) throw new HaproxyRuntimeError(`haproxy: cannot listen: ${problems.join('; ')}`);
}

function describe(address: string, key: string | undefined, code: string): string {
  const label = key ? `${key} ${address}` : address;
  const fix = key ? `choose another port with ${key}` : 'stop that process or change the bind in the config';
  switch (code) {
    case 'EADDRINUSE':
      return `${label} is in use by another process; ${fix}`;
    case 'EADDRNOTAVAIL':
      return `${label} is not an address of this host; ${key ? `set ${key} to a local address` : 'bind a local address'}`;
    case 'EACCES':
      return `${label} needs privileges (ports below 1024 need root or CAP_NET_BIND_SERVICE); ${fix}`;
    case 'EINVAL':
      return `${label} is not a valid <ip>:<port>; ${key ? `fix ${key}` : 'fix the bind'}`;
    default:
      return `${label} cannot be bound (${code}); ${fix}`;
  }
}

function tryListen(address: string): Promise<string | undefined> {
  const at = address.lastIndexOf(':');
  const rawHost = address.slice(0, at).replace(/^\[|\]$/g, '');
  // HAProxy reads '' and '*' as every IPv4 address.
  const host = rawHost === '' || rawHost === '*' ? '0.0.0.0' : rawHost;
  const port = Number(address.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) return Promise.resolve('EINVAL');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    // exclusive: a cluster primary must not share the handle; we want the kernel's own answer.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
