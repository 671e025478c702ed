import { describe, expect, it } from 'vitest';
import { ipKey, parseIpLiteral } from '../../src/model/ip-literal.ts';

describe('parseIpLiteral', () => {
  it.each([
    ['0.0.0.0', 'ipv4', true],
    ['127.0.0.1', 'ipv4', false],
    ['255.255.255.255', 'ipv4', false],
    ['::', 'ipv6', true],
    ['::1', 'ipv6', false],
    ['1::', 'ipv6', false],
    ['1:2:3:4:5:6:7:8', 'ipv6', false],
    ['1:2:3:4:5:6:7::', 'ipv6', false],
    ['::2:3:4:5:6:7:8', 'ipv6', false],
    ['::ffff:1.2.3.4', 'ipv6', false],
    ['::1.2.3.4', 'ipv6', false],
    ['1:2:3:4:5:6:1.2.3.4', 'ipv6', false],
    ['::0.0.0.0', 'ipv6', true],
    ['ABCD:ef01::', 'ipv6', false],
  ])('%j is %s (unspecified %s)', (value, family, unspecified) => {
    expect(parseIpLiteral(value)).toEqual({ family, unspecified });
  });

  it.each([
    '', ' ', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', '+1.2.3.4', '0x7f.0.0.1',
    ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::12345', '1:2:3:4:5:6:7',
    ':1:2:3:4:5:6:7', '1.2.3.4::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', '[::1]', 'g::1', 'localhost',
  ])('%j is not an IP literal', (value) => {
    expect(parseIpLiteral(value)).toBeUndefined();
  });
});

describe('ipKey', () => {
  it.each([
    ['2001:db8::1', '2001:DB8:0:0:0:0:0:1'],
    ['::ffff:10.0.0.1', '::FFFF:a00:1'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['10.0.0.1', '10.0.0.1'],
  ])('is the same for %j and %j (HAProxy prints IPv6 canonically)', (a, b) => {
    expect(ipKey(a)).toBeDefined();
    expect(ipKey(a)).toBe(ipKey(b));
  });

  it('differs for different addresses and is undefined for a non-literal', () => {
    expect(ipKey('2001:db8::1')).not.toBe(ipKey('2001:db8::2'));
    expect(ipKey('10.0.0.1')).not.toBe(ipKey('::ffff:10.0.0.1'));
    expect(ipKey('db.internal')).toBeUndefined();
  });
});
