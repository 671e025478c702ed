/**
 * Which services a change signal shows behind their last read: Consul's
 * answers as it sends them (fields trimmed to the ones that matter).
 */
import { describe, expect, it } from 'vitest';
import { checkSignalOf, fetchedServiceOf, isBehind, nodeNamesOf } from '../../src/consul/change-signals.ts';
import { instanceSignalOf } from '../../src/consul/node-instances.ts';
import { ConsulError } from '../../src/errors.ts';

const check = (node: string, id: string, service: string, modify: number, status = 'critical') => ({
  Node: node, CheckID: id, ServiceID: service ? `${service}-1` : '', ServiceName: service, Status: status, ModifyIndex: modify,
});
/** health/service/web at index 20: web-1 on n1, its own check critical, n1's serfHealth passing. */
const webBody = [
  {
    Node: { Node: 'n1', Address: '10.0.0.1' },
    Service: { ID: 'web-1', Service: 'web', Port: 80 },
    Checks: [
      { Node: 'n1', CheckID: 'serfHealth', Status: 'passing' },
      { Node: 'n1', CheckID: 'service:web-1', Status: 'critical' },
    ],
  },
];
const fetched = fetchedServiceOf(webBody, '20');
const checksAt = (index: number, ...checks: object[]) => checkSignalOf(checks, String(index));
const nodeAnswer = (node: string, index: number, services: Record<string, { service: string; modify: number }>) => ({
  index: String(index),
  body: {
    Node: { Node: node },
    Services: Object.fromEntries(Object.entries(services).map(([id, s]) => [id, { ID: id, Service: s.service, ModifyIndex: s.modify }])),
  },
});

describe('isBehind with the check signal (checks not passing)', () => {
  const own = check('n1', 'service:web-1', 'web', 20);
  const other = check('n2', 'service:api-1', 'api', 30);
  it.each([
    { name: 'the same unhealthy checks, no newer write', signal: checksAt(30, own, other), behind: false },
    { name: 'its failing check written again after the read', signal: checksAt(31, check('n1', 'service:web-1', 'web', 31), other), behind: true },
    { name: 'its check now warning', signal: checksAt(31, check('n1', 'service:web-1', 'web', 31, 'warning'), other), behind: true },
    { name: 'its check passing again (gone from the list)', signal: checksAt(32, other), behind: true },
    { name: 'the node check of its node failing', signal: checksAt(31, check('n1', 'serfHealth', '', 31), own, other), behind: true },
    { name: 'the node check of another node failing', signal: checksAt(31, own, other, check('n2', 'serfHealth', '', 31)), behind: false },
    { name: 'a new instance with a failing check', signal: checksAt(33, own, other, check('n3', 'service:web-2', 'web', 33)), behind: true },
    { name: 'another service\'s write', signal: checksAt(34, own, check('n2', 'service:api-1', 'api', 34)), behind: false },
    { name: 'a passing check in the answer is not news', signal: checksAt(35, own, other, check('n1', 'service:web-9', 'web', 35, 'passing')), behind: false },
    { name: 'a signal older than the read cannot tell', signal: checksAt(19), behind: false },
  ])('$name: behind=$behind', ({ signal, behind }) => {
    expect(isBehind('web', fetched, signal)).toBe(behind);
  });
});

describe('isBehind with the instance signal (catalog node scan)', () => {
  it.each([
    { name: 'the same instances', answers: [nodeAnswer('n1', 40, { 'web-1': { service: 'web', modify: 18 } })], behind: false },
    { name: 'an instance re-registered (meta, port) after the read', answers: [nodeAnswer('n1', 41, { 'web-1': { service: 'web', modify: 41 } })], behind: true },
    {
      name: 'a new instance without checks on another node',
      answers: [nodeAnswer('n1', 42, { 'web-1': { service: 'web', modify: 18 } }), nodeAnswer('n2', 42, { 'web-2': { service: 'web', modify: 19 } })],
      behind: true,
    },
    { name: 'its only instance gone', answers: [nodeAnswer('n1', 43, {})], behind: true },
    { name: 'a scan older than the read cannot tell', answers: [nodeAnswer('n1', 10, {})], behind: false },
  ])('$name: behind=$behind', ({ answers, behind }) => {
    expect(isBehind('web', fetched, undefined, instanceSignalOf(answers))).toBe(behind);
  });

  it('takes the lowest index of the scan, and a node gone between list and read as empty', () => {
    const signal = instanceSignalOf([nodeAnswer('n1', 50, { 'web-1': { service: 'web', modify: 18 } }), { index: '48', body: null }]);
    expect(signal.index).toBe(48n);
    expect(signal.services.get('web')?.maxIndex).toBe(18n);
  });
});

describe('parsing the signals', () => {
  it('keeps names apart whatever characters they hold', () => {
    const a = fetchedServiceOf([{ Node: { Node: 'a' }, Service: { ID: 'b\nc' }, Checks: [] }], '1');
    const b = fetchedServiceOf([{ Node: { Node: 'a\nb' }, Service: { ID: 'c' }, Checks: [] }], '1');
    expect(a.instanceKeys).not.toBe(b.instanceKeys);
  });

  it('lists node names sorted and once', () => {
    expect(nodeNamesOf([{ Node: 'n2' }, { Node: 'n1' }, { Node: 'n2' }, { Address: 'x' }])).toEqual(['n1', 'n2']);
  });

  it.each([
    ['health/state/critical', () => checkSignalOf({}, '1', '/v1/health/state/critical')],
    ['catalog/nodes', () => nodeNamesOf('nope')],
    ['catalog/node', () => instanceSignalOf([{ index: '1', body: [] }])],
  ])('rejects an answer of the wrong shape from %s instead of reading it as empty', (_name, parse) => {
    expect(parse).toThrow(ConsulError);
  });
});
