/**
 * Worker thread measuring what each row adds to a request without any queueing: one keep-alive
 * connection per row, one request in flight at a time, and the rows taken in turn request by
 * request (each cycle starting one row further), so that whatever else the machine does in a
 * given millisecond falls on every row alike. On two cores shared with HAProxy and the backends,
 * an open loop's percentiles swing with the load more than configurations differ; medians of
 * interleaved closed-loop requests differ by what the configurations cost.
 */
import { Http1Client } from './http1-client.ts';
import { serveCalls } from './rpc.ts';

export interface PairedRow {
  readonly port: number;
  readonly host: string;
  /** Sent with every request besides Host (credentials). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PairedPlan {
  readonly rows: readonly PairedRow[];
  /** Measured cycles: one request to every row each. */
  readonly cycles: number;
  /** Cycles sent first and not measured, so connections and caches are warm. */
  readonly warmup: number;
}

export interface PairedRowResult {
  /** Microseconds, from writing the request to its whole answer. */
  readonly latencyUs: { readonly p50: number; readonly p90: number; readonly p99: number };
  readonly statuses: Record<string, number>;
  readonly errors: Record<string, number>;
}

/** Pure: the q-quantile (0..1) of sorted values, nearest rank. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(plan: PairedPlan): Promise<PairedRowResult[]> {
  const clients = plan.rows.map((row) => new Http1Client(row.port, true, 5000));
  const headers = plan.rows.map((row) => Object.entries(row.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join(''));
  const latencies = plan.rows.map(() => new Float64Array(plan.cycles));
  const statuses = plan.rows.map((): Record<string, number> => ({}));
  const errors = plan.rows.map((): Record<string, number> => ({}));
  const n = plan.rows.length;
  try {
    for (let cycle = -plan.warmup; cycle < plan.cycles; cycle++) {
      for (let k = 0; k < n; k++) {
        const i = (((cycle + k) % n) + n) % n;
        const started = process.hrtime.bigint();
        const outcome = await clients[i]!.request(plan.rows[i]!.host, headers[i]!);
        const us = Number(process.hrtime.bigint() - started) / 1000;
        if (cycle < 0) continue;
        latencies[i]![cycle] = us;
        if (outcome.error) errors[i]![outcome.error] = (errors[i]![outcome.error] ?? 0) + 1;
        else statuses[i]![String(outcome.status)] = (statuses[i]![String(outcome.status)] ?? 0) + 1;
      }
    }
  } finally {
    for (const client of clients) client.close();
  }
  return latencies.map((values, i) => {
    const sorted = values.sort();
    return { latencyUs: { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99) }, statuses: statuses[i]!, errors: errors[i]! };
  });
}

serveCalls({ run: (plan: PairedPlan) => run(plan) });
