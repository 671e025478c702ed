/**
 * IP literal validation for server addresses. Hand-written rather than
 * `node:net.isIP`: that one accepts IPv6 zone IDs (`fe80::1%eth0`), and a `%`
 * has no business in HAProxy's configuration; it also keeps src/model free of
 * network modules.
 */

// No leading zeros: some parsers read "010" as octal.
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

export type IpFamily = 'ipv4' | 'ipv6';

export interface IpLiteral {
  readonly family: IpFamily;
  /** 0.0.0.0 or :: — HAProxy reads these as "the address the client connected to". */
  readonly unspecified: boolean;
}

export function parseIpLiteral(value: string): IpLiteral | undefined {
  if (IPV4.test(value)) return { family: 'ipv4', unspecified: value === '0.0.0.0' };
  const groups = ipv6Groups(value);
  if (groups === undefined) return undefined;
  return { family: 'ipv6', unspecified: groups.every((group) => group === 0) };
}

/**
 * A comparison key for an IP literal: the same for every spelling of one
 * address (`2001:DB8::1`, `2001:db8:0:0:0:0:0:1`), as HAProxy prints it back
 * in canonical form. Undefined when `value` is not an IP literal.
 */
export function ipKey(value: string): string | undefined {
  if (IPV4.test(value)) return value;
  const groups = ipv6Groups(value);
  return groups === undefined ? undefined : groups.map((group) => group.toString(16)).join(':');
}

/** The eight 16-bit groups of an IPv6 literal, or undefined when it is not one. */
function ipv6Groups(value: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(value) || !value.includes(':')) return undefined;
  let text = value;
  const tail: number[] = [];
  if (value.includes('.')) {
    // An embedded IPv4 form (::ffff:10.0.0.1) is allowed only as the last 32 bits.
    const at = value.lastIndexOf(':');
    const v4 = value.slice(at + 1);
    if (!IPV4.test(v4)) return undefined;
    const octets = v4.split('.').map(Number) as [number, number, number, number];
    tail.push(octets[0] * 256 + octets[1], octets[2] * 256 + octets[3]);
    text = value.slice(0, at + 1);
    // "::1.2.3.4" leaves "::", "a::1.2.3.4" leaves "a::", "a:b:c:d:e:f:1.2.3.4" leaves "a:...:f:".
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = split(halves[0] as string);
  const right = halves.length === 2 ? split(halves[1] as string) : [];
  if (![...left, ...right].every((group) => HEX_GROUP.test(group))) return undefined;
  const explicit = left.length + right.length + tail.length;
  if (halves.length === 2 ? explicit > 7 : explicit !== 8) return undefined;
  const zeros = new Array<number>(8 - explicit).fill(0);
  const parse = (group: string): number => Number.parseInt(group, 16);
  return [...left.map(parse), ...zeros, ...right.map(parse), ...tail];
}
