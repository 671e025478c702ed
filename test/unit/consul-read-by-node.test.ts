import { describe, expect, it } from 'vitest';
import { createNodeGrouping, readsByNode } from '../../src/consul/read-by-node.ts';

describe('createNodeGrouping', () => {
  const node = (name: string, services: Record<string, unknown>) => ({ Node: { Node: name, Address: '10.0.0.1' }, Services: services });

  it('dates every service at the lowest index of the reads, so that a write during them shows as newer', () => {
    const group = createNodeGrouping(new Set(['web']));
    group.add(node('a', { w1: { ID: 'w1', Service: 'web', Port: 80 } }), []);
    group.index('40');
    group.index('12');
    group.index('33');
    expect(group.finish().get('web')?.fetched.index).toBe(12n);
  });

  it('gives an instance its node\'s checks and its own only, and skips services not wanted and nodes gone', () => {
    const group = createNodeGrouping(new Set(['web']));
    group.add(
      node('a', { w1: { ID: 'w1', Service: 'web', Port: 80 }, w2: { ID: 'w2', Service: 'web', Port: 81 }, x: { ID: 'x', Service: 'other', Port: 82 } }),
      [
        { Node: 'a', CheckID: 'serfHealth', Status: 'passing', ServiceID: '' },
        { Node: 'a', CheckID: 'c1', Status: 'critical', ServiceID: 'w1' },
        { Node: 'a', CheckID: 'cx', Status: 'critical', ServiceID: 'x' },
      ],
    );
    group.add(null, []);
    group.index('5');
    const web = group.finish().get('web');
    expect(web?.instances.map((i) => [i.id, i.status])).toEqual([
      ['w1', 'critical'],
      ['w2', 'passing'],
    ]);
    expect(group.finish().has('other')).toBe(false);
  });
});

describe('readsByNode', () => {
  it('reads by node only for many services on fewer nodes', () => {
    expect(readsByNode(5000, 10)).toBe(true);
    expect(readsByNode(600, 1)).toBe(true);
    expect(readsByNode(50, 1)).toBe(false);
    expect(readsByNode(1000, 800)).toBe(false);
  });
});
