import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { assembleSnapshot } from '../../src/consul/assemble.ts';
import { buildModel, createModelMemo } from '../../src/model/index.ts';
import { render } from '../../src/render/render.ts';
import { planApply } from '../../src/haproxy/plan/plan-apply.ts';
import { loadRenderKit } from '../../src/runner/assets.ts';
import { GOLDEN_FIXTURES, GOLDEN_RUN_DIR, loadFixture } from '../helpers/render-inputs.ts';
import type { Config } from '../../src/config/schema.ts';
import type { ServiceEntry, Snapshot } from '../../src/consul/snapshot.ts';

/**
 * The model memo and the render's memo block only reuse work: a daemon that
 * applies change after change must build the same models and write the same
 * bytes as one-shot builds of each snapshot. Unchanged services keep their
 * snapshot entries (the watcher does, through assembleSnapshot), as here.
 */
const memoKit = await loadRenderKit();
const freshKit = await loadRenderKit();

type Edit =
  | { readonly kind: 'drop'; readonly at: number }
  | { readonly kind: 'instances'; readonly at: number; readonly keep: number; readonly portShift: number; readonly flip: boolean }
  | { readonly kind: 'copy'; readonly at: number }
  | { readonly kind: 'kv-drop'; readonly at: number }
  | { readonly kind: 'kv-failover'; readonly from: number; readonly to: number }
  | { readonly kind: 'config'; readonly accessLog: boolean; readonly gateway: boolean }
  | { readonly kind: 'meta'; readonly at: number; readonly meta: number };

// Instance meta that changes a service's policy (routes, TCP listener, timeouts, versions) or, for
// a gateway, its exposure: a patched build (model-patch.ts) must see these and build anew.
const META_EDITS: ReadonlyArray<Readonly<Record<string, string>>> = [
  {},
  { 'ipx-path-prefix': '/edited' },
  { 'ipx-protocol': 'tcp', 'ipx-tcp-port': '7100' },
  { 'ipx-timeout': '7s' },
  { 'ipx-gateways': 'edge' },
  { 'ipx-gateways': 'other, more' },
  { 'ipx-version': 'v9' },
];

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('instances' as const), at: fc.nat(), keep: fc.nat({ max: 4 }), portShift: fc.nat({ max: 3 }), flip: fc.boolean() }),
  fc.record({ kind: fc.constant('copy' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('kv-drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('kv-failover' as const), from: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('config' as const), accessLog: fc.boolean(), gateway: fc.boolean() }),
  fc.record({ kind: fc.constant('meta' as const), at: fc.nat(), meta: fc.nat({ max: META_EDITS.length - 1 }) }),
);

function applyEdit(state: { snapshot: Snapshot; config: Config }, change: Edit, step: number): { snapshot: Snapshot; config: Config } {
  const { snapshot, config } = state;
  const services = [...snapshot.services];
  const pick = (at: number) => (services.length === 0 ? undefined : at % services.length);
  switch (change.kind) {
    case 'drop': {
      const i = pick(change.at);
      if (i !== undefined) services.splice(i, 1);
      break;
    }
    case 'instances': {
      const i = pick(change.at);
      if (i === undefined) break;
      const service = services[i] as ServiceEntry;
      const instances = service.instances.slice(0, change.keep).map((instance, n) => ({
        ...instance,
        port: ((instance.port + change.portShift - 1) % 65535) + 1,
        status: change.flip && n === 0 ? (instance.status === 'passing' ? ('critical' as const) : ('passing' as const)) : instance.status,
      }));
      services[i] = { name: service.name, instances };
      break;
    }
    case 'copy': {
      const i = pick(change.at);
      if (i !== undefined) services.push({ name: `copy-${step}`, instances: (services[i] as ServiceEntry).instances });
      break;
    }
    case 'kv-drop': {
      const kv = [...snapshot.kv];
      if (kv.length > 0) kv.splice(change.at % kv.length, 1);
      return { snapshot: { ...snapshot, services, kv }, config };
    }
    case 'kv-failover': {
      const from = pick(change.from);
      const to = pick(change.to);
      if (from === undefined || to === undefined) break;
      const key = `ipx/services/${(services[from] as ServiceEntry).name}`;
      const value = JSON.stringify({ failover: { service: (services[to] as ServiceEntry).name } });
      return { snapshot: { ...snapshot, services, kv: [...snapshot.kv.filter((entry) => entry.key !== key), { key, value }] }, config };
    }
    case 'meta': {
      const i = pick(change.at);
      if (i === undefined) break;
      const service = services[i] as ServiceEntry;
      const meta = META_EDITS[change.meta] ?? {};
      services[i] = { name: service.name, instances: service.instances.map((instance) => ({ ...instance, meta })) };
      break;
    }
    case 'config':
      return {
        snapshot: { ...snapshot, services },
        config: parseConfig({
          haproxy: { runDir: GOLDEN_RUN_DIR },
          policies: config.policies,
          log: { access: change.accessLog ? 'stdout' : 'off' },
          ...(change.gateway ? { gateway: { name: 'edge', exposeAll: true } } : {}),
        } as never),
      };
  }
  return { snapshot: { ...snapshot, services }, config };
}

describe('model memo and memo block', () => {
  it.each(GOLDEN_FIXTURES)('build and render the same as a fresh build after any edits, and a change the planner finds nothing in renders the same files (fixture %s)', (name) => {
    const fixture = loadFixture(name);
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), (edits) => {
        const memo = createModelMemo();
        let state = { snapshot: fixture.snapshot, config: fixture.config };
        let previous = buildModel({ ...state, memo });
        let previousFiles = render({ model: previous, templates: memoKit.templates, assets: memoKit.assets }).files;
        edits.forEach((change, step) => {
          state = applyEdit(state, change, step);
          const reused = buildModel({ ...state, memo });
          const fresh = buildModel(state);
          expect(reused).toEqual(fresh);
          const memoFiles = render({ model: reused, templates: memoKit.templates, assets: memoKit.assets }).files;
          expect(memoFiles).toEqual(render({ model: fresh, templates: freshKit.templates, assets: freshKit.assets }).files);
          // The manager skips the render when the planner finds nothing to do: then the files must not differ.
          if (planApply(previous, reused).kind === 'noop') expect(memoFiles).toEqual(previousFiles);
          previous = reused;
          previousFiles = memoFiles;
        });
      }),
      { numRuns: 40 },
    );
  });

  it('keeps an unchanged service the same object when another one changes', () => {
    const { snapshot, config } = loadFixture('basic');
    const memo = createModelMemo();
    const before = buildModel({ snapshot, config, memo });
    const [first, ...rest] = snapshot.services as [ServiceEntry, ...ServiceEntry[]];
    const changed = { ...snapshot, services: [{ name: first.name, instances: first.instances.slice(1) }, ...rest] };
    const after = buildModel({ snapshot: changed, config, memo });
    expect(after.services[0]).not.toBe(before.services[0]);
    after.services.slice(1).forEach((service, i) => expect(service).toBe(before.services[i + 1]));
  });

  it('patches the last model when only instances changed, and builds anew when a policy did', () => {
    const { snapshot, config } = loadFixture('policy');
    const memo = createModelMemo();
    const before = buildModel({ snapshot, config, memo });
    // A routed HTTP service without routes of its own.
    const at = snapshot.services.findIndex((service) => service.name === 'checkout');
    const service = snapshot.services[at] as ServiceEntry;
    const withInstances = (instances: ServiceEntry['instances']) => ({ ...snapshot, services: snapshot.services.map((s, i) => (i === at ? { name: s.name, instances } : s)) });
    const fewer = withInstances(service.instances.slice(1));
    const patched = buildModel({ snapshot: fewer, config, memo });
    expect(patched).toEqual(buildModel({ snapshot: fewer, config }));
    // What only names and policies make is kept as it was.
    expect(patched.routes).toBe(before.routes);
    expect(patched.caller).toBe(before.caller);
    const routed = withInstances(service.instances.map((instance) => ({ ...instance, meta: { 'ipx-path-prefix': '/patched' } })));
    const rebuilt = buildModel({ snapshot: routed, config, memo });
    expect(rebuilt).toEqual(buildModel({ snapshot: routed, config }));
    expect(rebuilt.routes.map((route) => route.prefix)).toContain('/patched');
  });

  it('builds anew when instance meta takes a service off this gateway', () => {
    const { snapshot } = loadFixture('basic');
    const config = parseConfig({ haproxy: { runDir: GOLDEN_RUN_DIR }, gateway: { name: 'edge', exposeAll: true } } as never);
    const memo = createModelMemo();
    const [first, ...rest] = snapshot.services as [ServiceEntry, ...ServiceEntry[]];
    expect(buildModel({ snapshot, config, memo }).services.map((s) => s.name)).toContain(first.name);
    const elsewhere = { ...snapshot, services: [{ name: first.name, instances: first.instances.map((instance) => ({ ...instance, meta: { 'ipx-gateways': 'other' } })) }, ...rest] };
    const after = buildModel({ snapshot: elsewhere, config, memo });
    expect(after.services.map((s) => s.name)).not.toContain(first.name);
    expect(after).toEqual(buildModel({ snapshot: elsewhere, config }));
  });

  it('builds every service again when the KV or the config object changes', () => {
    const { snapshot, config } = loadFixture('policy');
    const memo = createModelMemo();
    const before = buildModel({ snapshot, config, memo });
    const sameContent = buildModel({ snapshot: { ...snapshot, kv: [...snapshot.kv] }, config, memo });
    expect(sameContent).toEqual(before);
    expect(sameContent.services[0]).not.toBe(before.services[0]);
    const again = buildModel({ snapshot, config: { ...config }, memo });
    expect(again.services[0]).not.toBe(before.services[0]);
  });
});

describe('assembleSnapshot', () => {
  it('gives the same entry for the same instances array, and a new one for a new array', () => {
    const instances = loadFixture('basic').snapshot.services[0]?.instances ?? [];
    const a = assembleSnapshot({ services: [['web', instances]], kv: [] });
    const b = assembleSnapshot({ services: [['web', instances]], kv: [] });
    const c = assembleSnapshot({ services: [['web', [...instances]]], kv: [] });
    expect(b.services[0]).toBe(a.services[0]);
    expect(c.services[0]).not.toBe(a.services[0]);
    expect(c.services[0]).toEqual(a.services[0]);
    // The same array under another name is another service.
    expect(assembleSnapshot({ services: [['api', instances]], kv: [] }).services[0]?.name).toBe('api');
  });
});
