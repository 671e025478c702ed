import { readFile, readdir, readlink } from 'node:fs/promises';

/**
 * How many TCP connections this process holds open to Consul right now,
 * counted by the kernel rather than by the watcher's idea of its views: the
 * agent's per-client limit (CONSUL-SCALE.md) counts sockets, so this is the
 * figure to compare with it. Linux only (`/proc`); undefined elsewhere or
 * when the tables cannot be read.
 */
export async function countConsulConnections(address: string): Promise<number | undefined> {
  const port = portOf(address);
  if (port === undefined) return undefined;
  try {
    const inodes = await ownSocketInodes();
    let count = 0;
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      const text = await readFile(table, 'utf8').catch(() => '');
      count += countEstablished(text, port, inodes);
    }
    return count;
  } catch {
    return undefined;
  }
}

/** Pure: established connections in a /proc/net/tcp{,6} table to remote `port` whose inode is in `inodes`. */
export function countEstablished(table: string, port: number, inodes: ReadonlySet<string>): number {
  let count = 0;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const remote = fields[2];
    const state = fields[3];
    const inode = fields[9];
    if (!remote || state !== '01' || inode === undefined) continue;
    if (Number.parseInt(remote.slice(remote.indexOf(':') + 1), 16) === port && inodes.has(inode)) count++;
  }
  return count;
}

async function ownSocketInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1] as string);
  }
  return inodes;
}

function portOf(address: string): number | undefined {
  try {
    const url = new URL(address);
    return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  } catch {
    return undefined;
  }
}
