import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** ipx's own metrics (HAProxy's are on listen.stats /metrics). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ipx_process_' });
  return {
    registry,
    snapshots: new Counter({ name: 'ipx_consul_snapshots_total', help: 'Consul snapshots received by the runner', registers: [registry] }),
    consulErrors: new Counter({ name: 'ipx_consul_errors_total', help: 'Failed Consul requests', registers: [registry] }),
    consulReady: new Gauge({ name: 'ipx_consul_ready', help: '1 when every Consul view has been read at least once', registers: [registry] }),
    consulStale: new Gauge({ name: 'ipx_consul_stale', help: '1 while some Consul view is failing (data may lag)', registers: [registry] }),
    runs: new Counter({ name: 'ipx_pipeline_runs_total', help: 'Pipeline runs by result', labelNames: ['result'] as const, registers: [registry] }),
    applies: new Counter({ name: 'ipx_haproxy_applies_total', help: 'Applies by action (noop, start, runtime, reload)', labelNames: ['action'] as const, registers: [registry] }),
    runtimeOps: new Counter({
      name: 'ipx_haproxy_runtime_ops_total',
      help: 'Server changes made through the runtime API without a reload, by op (add, remove, addr, weight, state, map, maxconn)',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: 'ipx_pipeline_duration_seconds',
      help: 'Render, check and apply time per run',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    services: new Gauge({ name: 'ipx_services', help: 'Services in the applied model', registers: [registry] }),
    servers: new Gauge({ name: 'ipx_servers', help: 'Servers taking traffic (ready) in the applied model', registers: [registry] }),
    rejections: new Gauge({ name: 'ipx_rejections', help: 'Consul items skipped because they cannot be expressed safely', registers: [registry] }),
    policyRejections: new Gauge({
      name: 'ipx_policy_rejections',
      help: 'Policy values not used (invalid, or instances disagreeing on a meta key), by layer: file-defaults, kv-defaults, meta, file-service, kv-service',
      labelNames: ['layer'] as const,
      registers: [registry],
    }),
    guardHeld: new Gauge({ name: 'ipx_guard_held', help: '1 while the mass-deregistration guard holds back a change', registers: [registry] }),
    haproxyRestarts: new Counter({ name: 'ipx_haproxy_restarts_total', help: 'Managed HAProxy masters found dead and started again', registers: [registry] }),
    lastSuccess: new Gauge({ name: 'ipx_last_apply_success_timestamp_seconds', help: 'When the last run succeeded', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
