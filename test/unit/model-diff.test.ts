import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/model/build-model.ts';
import { diffModel, isEmptyDiff } from '../../src/model/diff-model.ts';
import { config, instance, service, snapshot } from '../helpers/model-fakes.ts';
import type { ServiceEntry } from '../../src/consul/snapshot.ts';

const model = (services: ServiceEntry[], input = {}) => buildModel({ snapshot: snapshot(...services), config: config(input) });
const web = service('web', [instance({ id: 'w1' })]);

describe('diffModel', () => {
  it.each([
    ['nothing changed', [web], [web], { added: [], removed: [], changed: [] }],
    ['a service added', [web], [web, service('api')], { added: ['api'], removed: [], changed: [] }],
    ['a service removed', [web, service('api')], [web], { added: [], removed: ['api'], changed: [] }],
    ['an instance added', [web], [service('web', [instance({ id: 'w1' }), instance({ id: 'w2' })])], { added: [], removed: [], changed: ['web'] }],
    ['an address changed', [web], [service('web', [instance({ id: 'w1', address: '10.0.0.2' })])], { added: [], removed: [], changed: ['web'] }],
    ['an instance went critical', [web], [service('web', [instance({ id: 'w1', status: 'critical' })])], { added: [], removed: [], changed: ['web'] }],
    ['a weight changed', [web], [service('web', [instance({ id: 'w1', weight: 4 })])], { added: [], removed: [], changed: ['web'] }],
    ['only a rejected instance changed', [web], [service('web', [instance({ id: 'w1' }), instance({ id: 'x', address: 'h' })])], { added: [], removed: [], changed: [] }],
    ['all at once', [web, service('b')], [service('a'), service('web')], { added: ['a'], removed: ['b'], changed: ['web'] }],
  ])('%s', (_label, before, after, expected) => {
    expect(diffModel(model(before), model(after))).toEqual({ ...expected, globalChanged: false });
  });

  it('reports a global change', () => {
    const diff = diffModel(model([web]), model([web], { haproxy: { maxconn: 200 } }));
    expect(diff).toEqual({ added: [], removed: [], changed: [], globalChanged: true });
    expect(isEmptyDiff(diff)).toBe(false);
    expect(isEmptyDiff(diffModel(model([web]), model([web])))).toBe(true);
  });

  it('compares global values by content: equal stats credentials built twice are no change', () => {
    const auth = { stats: { user: 'ops', passwordHash: '$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1' } };
    expect(diffModel(model([web], auth), model([web], auth)).globalChanged).toBe(false);
  });
});
