import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/index.ts';
import { explain } from '../../src/model/explain.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';

const snap = snapshot(
  service('orders', [
    instance({ id: 'orders-1', address: '10.0.0.1' }),
    instance({ id: 'orders-2', address: '10.0.0.2', status: 'critical' }),
    instance({ id: 'orders-3', address: 'db.internal' }),
  ]),
  service('bad_name', [instance({ id: 'x' })]),
);
const model = buildModel({ snapshot: snap, config: config() });

describe('explain', () => {
  it.each(['orders', 'ORDERS', 'orders.service.internal', 'Orders.Service.Internal:8080'])('finds the service from %s', (query) => {
    const e = explain(model, snap, query);
    expect(e.host).toBe('orders.service.internal');
    expect(e.service?.backend).toBe('svc_orders');
    expect(e.service?.servers.map((s) => [s.name, s.state])).toEqual([
      ['orders-1', 'ready'],
      ['orders-2', 'maint'],
    ]);
    expect(e.instances.get('orders-2')?.status).toBe('critical');
    expect(e.rejections.map((r) => r.subject)).toEqual(['instance "orders-3" on node "node-a" of service "orders"']);
  });

  it('names what was skipped of a service that is not routed', () => {
    const e = explain(model, snap, 'bad_name');
    expect(e.service).toBeUndefined();
    expect(e.rejections.map((r) => r.subject)).toEqual(['service "bad_name"']);
  });

  it('has nothing for an unknown service', () => {
    expect(explain(model, snap, 'nosuch')).toMatchObject({ host: 'nosuch.service.internal', service: undefined, rejections: [] });
  });

  it('says a service Consul does not list is a static upstream, with its policy', () => {
    const withStatic = buildModel({ snapshot: snap, config: config({ static: { legacy: { instances: ['10.0.5.1:80'], policy: { timeouts: { server: '9s' } } } } }) });
    const e = explain(withStatic, snap, 'legacy');
    expect(e).toMatchObject({ isStatic: true, service: { backend: 'svc_legacy', policy: { timeouts: { server: 9000 } } } });
    expect(explain(withStatic, snap, 'orders').isStatic).toBe(false);
  });
});
