import { describe, expect, it } from 'vitest';
import { bindAddressesOf, bindTargets } from '../../src/haproxy/index.ts';

describe('bindAddressesOf', () => {
  it.each([
    ['plain', '  bind 127.0.0.1:8080', ['127.0.0.1:8080']],
    ['with options', '  bind 127.0.0.1:8443 ssl crt x.pem alpn h2', ['127.0.0.1:8443']],
    ['ipv6', '  bind [::1]:8080', ['[::1]:8080']],
    ['family prefix', '  bind ipv4@127.0.0.1:80', ['127.0.0.1:80']],
    ['all addresses', '  bind :80\n  bind *:81', [':80', '*:81']],
    ['list', '  bind 127.0.0.1:1,127.0.0.2:2', ['127.0.0.1:1', '127.0.0.2:2']],
    ['unix socket and abns skipped', '  bind /run/x.sock\n  bind unix@/run/y.sock\n  bind abns@z', []],
    ['port range skipped', '  bind 127.0.0.1:8000-8010', []],
    ['not a bind', '  stats socket /run/admin.sock\n  # bind 127.0.0.1:1\n  server s 127.0.0.1:9', []],
    ['duplicates once', '  bind 127.0.0.1:1\n  bind 127.0.0.1:1', ['127.0.0.1:1']],
    ['the local peer of a peers section', 'peers ipx\n    peer ipx 127.0.0.1:8407\n    table ipx_pc_ss type string', ['127.0.0.1:8407']],
  ])('%s', (_name, text, expected) => {
    expect(bindAddressesOf(text)).toEqual(expected);
  });
});

describe('bindTargets', () => {
  it('names the config key that holds an address', () => {
    expect(bindTargets(['127.0.0.1:8080', '127.0.0.1:9', '127.0.0.1:8404'], { http: '127.0.0.1:8080', stats: '127.0.0.1:8404', admin: '127.0.0.1:8405' })).toEqual([
      { address: '127.0.0.1:8080', key: 'listen.http' },
      { address: '127.0.0.1:9' },
      { address: '127.0.0.1:8404', key: 'listen.stats' },
    ]);
  });
});
