/**
 * Counts real TCP connections from /proc (Linux): the client ends, owned by one
 * process, of established connections to a port. On loopback both ends are
 * listed in /proc/net/tcp; the client end is the one whose remote port is the
 * server's, and /proc/<pid>/fd tells which sockets the process holds (other
 * processes on the host may talk to other agents on the same port number of
 * another address, or run their own tests).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

const ESTABLISHED = '01';

export interface Connection {
  readonly local: string;
  readonly remote: string;
}

async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const dir = `/proc/${pid}/fd`;
  for (const fd of await readdir(dir).catch(() => [])) {
    const target = await readlink(`${dir}/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  return inodes;
}

/** Established connections from process `pid` to `port`. */
export async function connectionsFrom(pid: number, port: number): Promise<Connection[]> {
  const inodes = await socketInodes(pid);
  const found: Connection[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [, local, remote, state] = fields;
      const inode = fields[9];
      if (!local || !remote || state !== ESTABLISHED || !inode || !inodes.has(inode)) continue;
      if (Number.parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16) === port) found.push({ local, remote });
    }
  }
  return found;
}

/** Samples connectionsFrom(pid, port) every intervalMs until stopped; keeps the largest sample. */
export function sampleConnections(pid: number, port: number, intervalMs = 50): { stop(): Promise<Connection[]> } {
  let peak: Connection[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = await connectionsFrom(pid, port);
      if (now.length > peak.length) peak = now;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}
