import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/index.ts';
import { readiness } from '../../src/daemon/readiness.ts';
import { config, snapshot } from '../helpers/model-fakes.ts';
import type { WatcherState } from '../../src/consul/index.ts';
import type { LoopState } from '../../src/daemon/apply-loop.ts';

const consul: WatcherState = { ready: true, stale: false, staleSince: undefined, lastSuccessAt: 1, lastError: undefined, failing: [], services: 1, queuedReads: 0, views: 3, viewsRead: 3, lastIndex: '7' };
const model = buildModel({ snapshot: snapshot(), config: config() });
const applied: LoopState['applied'] = { model, rendered: { files: {}, hash: 'h' }, action: 'start', at: 't' };
const loop: LoopState = { applied, lastFailure: undefined, guard: { held: false } };
const down = { message: 'consul: GET /v1/catalog/services failed (connect ECONNREFUSED)', key: 'catalog', at: 5 };

describe('readiness', () => {
  it.each([
    { name: 'ready once applied', consul, loop, running: true, ready: true, reasons: [], warnings: [] },
    { name: 'Consul never read', consul: { ...consul, ready: false, lastError: down }, loop: { ...loop, applied: undefined }, running: true, ready: false, reasons: [/consul not read yet: consul: GET/], warnings: [] },
    { name: 'read but nothing applied', consul, loop: { ...loop, applied: undefined }, running: true, ready: false, reasons: [/no configuration applied/], warnings: [] },
    { name: 'a new service not read yet does not flap', consul: { ...consul, ready: false }, loop, running: true, ready: true, reasons: [], warnings: [] },
    { name: 'Consul stale after an apply: a warning', consul: { ...consul, stale: true, staleSince: 0, lastError: down }, loop, running: true, ready: true, reasons: [], warnings: [/consul data stale since .*ECONNREFUSED/] },
    { name: 'last apply failed', consul, loop: { ...loop, lastFailure: { message: 'haproxy -c rejected', at: 't' } }, running: true, ready: false, reasons: [/last apply failed at t: haproxy -c rejected/], warnings: [] },
    { name: 'HAProxy down', consul, loop, running: false, ready: false, reasons: [/haproxy is not running/], warnings: [] },
    { name: 'a held drop: a warning', consul, loop: { ...loop, guard: { held: true, dropped: 9, total: 10, releaseAt: 'r' } }, running: true, ready: true, reasons: [], warnings: [/removes 9 of 10 instances until r/] },
  ])('$name', ({ consul: c, loop: l, running, ready, reasons, warnings }) => {
    const result = readiness(c, l, running);
    expect(result.ready).toBe(ready);
    expect(result.reasons).toHaveLength(reasons.length);
    reasons.forEach((pattern, i) => expect(result.reasons[i]).toMatch(pattern));
    expect(result.warnings).toHaveLength(warnings.length);
    warnings.forEach((pattern, i) => expect(result.warnings[i]).toMatch(pattern));
  });
});
