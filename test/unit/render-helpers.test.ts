import { describe, expect, it } from 'vitest';
import { quoteSingle } from '../../src/render/haproxy-quote.ts';
import { helpers } from '../../src/render/helpers.ts';

describe('quoteSingle', () => {
  it.each([
    ['plain', "'plain'"],
    ['', "''"],
    ["it's", "'it'\\''s'"],
    ["''", "''\\'''\\'''"],
    ['# not a comment', "'# not a comment'"],
    ['${HOME} "x"', "'${HOME} \"x\"'"],
    ['%[env(HOME)]', "'%[env(HOME)]'"],
    ['back\\slash', "'back\\slash'"],
    ['{"a":"ü"}', "'{\"a\":\"ü\"}'"],
  ])('writes %j as %s', (value, expected) => {
    expect(quoteSingle(value)).toBe(expected);
  });

  it.each(['a\nb', 'a\rb', 'a\tb', '\u0000', '\u001b[31m', '\u007f', '\u0085'])('refuses control characters in %j', (value) => {
    expect(() => quoteSingle(value)).toThrow(/control character U\+00[0-9a-f]{2}/);
  });
});

describe('template helpers', () => {
  it.each([
    ['ident', ['svc_web'], 'svc_web'],
    ['int', [4000], '4000'],
    ['int', [0], '0'],
    ['quote', ["/run/ipx dir/a'.sock"], "'/run/ipx dir/a'\\''.sock'"],
    ['addr', ['10.0.0.1', 80], '10.0.0.1:80'],
    ['addr', ['2001:db8::1', 443], '[2001:db8::1]:443'],
    ['addr', ['::ffff:10.0.0.1', 443], '[::ffff:10.0.0.1]:443'],
    ['bind', ['127.0.0.1:8080'], '127.0.0.1:8080'],
    ['bind', ['0.0.0.0:80'], '0.0.0.0:80'],
    ['bind', ['[::1]:8404'], '[::1]:8404'],
    ['serverState', ['ready'], ''],
    ['serverState', ['maint'], ' disabled'],
  ] as const)('%s(%j) → %s', (name, args, expected) => {
    const helper = helpers[name] as (...values: unknown[]) => string;
    expect(helper(...args)).toBe(expected);
  });

  it.each([
    ['ident', ['a b']],
    ['ident', ['-a']],
    ['ident', [undefined]],
    ['ident', [42]],
    ['int', [-1]],
    ['int', [1.5]],
    ['int', ['4000']],
    ['quote', ['a\nb']],
    ['quote', [{}]],
    ['addr', ['db.internal', 80]],
    ['addr', ['10.0.0.1', 0]],
    ['addr', ['10.0.0.1', '80']],
    ['addr', ['[::1]', 80]],
    ['bind', ['::1:8080']],
    ['bind', ['[127.0.0.1]:8080']],
    ['bind', ['127.0.0.1']],
    ['bind', ['127.0.0.1:0']],
    ['bind', ['localhost:80']],
    ['bind', ['127.0.0.1:80\nbackend x']],
    ['serverState', ['drain']],
    ['serverState', [undefined]],
    ['serverState', ['maint\n']],
  ] as const)('%s(%j) throws', (name, args) => {
    const helper = helpers[name] as (...values: unknown[]) => string;
    expect(() => helper(...args)).toThrow(new RegExp(`^${name}: `));
  });
});
