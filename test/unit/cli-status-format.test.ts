import { describe, expect, it } from 'vitest';
import { formatFollowing, formatStatus, type DaemonStatus } from '../../src/cli/commands/status.ts';

const status: DaemonStatus = {
  readiness: { ready: true, reasons: [], warnings: [] },
  consul: { address: 'http://127.0.0.1:8500', services: 5000, views: 5004, viewsRead: 5004, lastIndex: '90', stale: false, connections: 8 },
  guard: { held: false },
  haproxy: { running: true, pid: 10, workers: [11], oldWorkers: [], draining: [] },
  backends: [],
};

describe('ipx status summary', () => {
  it('says how registrations are followed, and what would give every node a view', () => {
    const scans = formatStatus({ ...status, consul: { ...status.consul, registrations: { by: 'scans', nodes: 100, maxConnectionsForViews: 106 } } }, '127.0.0.1:8405', 0);
    expect(scans).toContain('registrations: a scan of all 100 nodes after each, slower at thousands of services; consul.maxConnections 106 would give each node a view');
    expect(formatFollowing({ by: 'node views', nodes: 10 })).toBe('a view per node (10 nodes)');
    expect(formatFollowing({ by: 'node views', nodes: 100, http2: true })).toBe('a view per node (100 nodes, as HTTP/2 streams)');
    expect(formatStatus(status, '127.0.0.1:8405', 0)).not.toContain('registrations');
  });
});
