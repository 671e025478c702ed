/** Load, latency and CPU figures for bench/composite.ts. */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { distribution, type Distribution } from './report.ts';

export interface LoadTarget {
  readonly port: number;
  readonly host: string;
  readonly path: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly perSecond: number;
  /** Milliseconds, one decimal. */
  readonly latency: Distribution;
  readonly statuses: Record<string, number>;
}

/** `concurrency` loops, each on its own keep-alive connection, for `durationMs` or `count` requests in all. */
export async function load(target: LoadTarget, options: { concurrency: number; durationMs?: number; count?: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const endAt = started + (options.durationMs ?? Number.POSITIVE_INFINITY);
  let issued = 0;
  const more = (): boolean => performance.now() < endAt && (options.count === undefined || issued < options.count);
  const loop = async (): Promise<void> => {
    while (more()) {
      issued++;
      const t0 = performance.now();
      const status = await once(agent, target);
      latencies.push(Math.round((performance.now() - t0) * 10) / 10);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  return { requests: latencies.length, perSecond: Math.round(latencies.length / seconds), latency: distribution(latencies), statuses };
}

function once(agent: http.Agent, target: LoadTarget): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: target.port, path: target.path, headers: { host: target.host }, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode ?? 0)));
      res.on('error', () => resolve('error'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('error'));
  });
}

/** CPU time (user + system) a process and its threads used so far, in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based) of the whole line: 11 and 12 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return 0;
  }
}

function clockTicks(): number {
  return 100; // USER_HZ on Linux
}
