/**
 * Counts real TCP connections from /proc/net/tcp{,6} (Linux): the client ends
 * of established connections to a port. On loopback both ends are listed; the
 * client end is the one whose remote port is the server's.
 */
import { readFile } from 'node:fs/promises';

const ESTABLISHED = '01';

export async function connectionsTo(port: number): Promise<number> {
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      if (!remote || fields[3] !== ESTABLISHED) continue;
      if (Number.parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16) === port) count += 1;
    }
  }
  return count;
}

/** Samples connectionsTo(port) every intervalMs until stopped; `peak` is the highest count seen. */
export function sampleConnections(port: number, intervalMs = 50): { readonly peak: () => number; stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await connectionsTo(port));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    peak: () => peak,
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}
