/**
 * Worker thread sending an open-loop load: request i is due at start + i/rate
 * whatever the answers before it, over a pool of keep-alive connections (a
 * new one when all are busy). Latency is measured from the due time, so a
 * stall shows in the percentiles instead of lowering the offered rate.
 */
import http from 'node:http';
import { serveCalls } from './rpc.ts';

export interface OpenLoopPlan {
  readonly port: number;
  readonly host: string;
  readonly rate: number;
  readonly durationMs: number;
  /** Requests sent but not measured, first, so connections and caches are warm. */
  readonly warmup: number;
  /** Sent with every request besides Host (credentials). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface OpenLoopResult {
  readonly sent: number;
  readonly measured: number;
  readonly statuses: Record<string, number>;
  readonly errors: Record<string, number>;
  /** Microseconds. */
  readonly latencyUs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly lateStarts: number;
}

function run(plan: OpenLoopPlan): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const total = plan.warmup + Math.round((plan.rate * plan.durationMs) / 1000);
  const intervalNs = 1e9 / plan.rate;
  let sent = 0;
  let done = 0;
  let lateStarts = 0;
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
      resolve({ sent, measured: sorted.length, statuses, errors, latencyUs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) }, lateStarts });
    };
    const send = (index: number, due: bigint) => {
      const req = http.request({ port: plan.port, host: '127.0.0.1', path: '/', headers: { ...plan.headers, host: plan.host }, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          if (index >= plan.warmup) latencies.push(Number(process.hrtime.bigint() - due) / 1000);
          if (++done === total) finish();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
        if (++done === total) finish();
      });
      req.end();
    };
    const tick = () => {
      const now = process.hrtime.bigint();
      while (sent < total) {
        const due = start + BigInt(Math.round(sent * intervalNs));
        if (due > now) break;
        if (now - due > 1_000_000n) lateStarts++;
        send(sent, due);
        sent++;
      }
      // A 1 ms timer rather than a spin: the generator shares two cores with HAProxy and the backends.
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

serveCalls({ run: (plan: OpenLoopPlan) => run(plan) });
