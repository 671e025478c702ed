import { describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH, SAFE_NAME, backendName, safeName, serverNames, shortHash } from '../../src/model/identifiers.ts';

describe('safeName', () => {
  it.each([
    ['web-1', 'web-1'],
    ['A.b_c-9', 'A.b_c-9'],
    ['x'.repeat(MAX_NAME_LENGTH), 'x'.repeat(MAX_NAME_LENGTH)],
  ])('keeps an already safe %j as it is', (raw, expected) => {
    expect(safeName(raw)).toBe(expected);
  });

  it.each(['a b', 'a/b', 'a@b', 'a+b', 'a:b', '_a', '.a', '-a', 'x'.repeat(MAX_NAME_LENGTH + 1), '', 'é', '\u0000', 'a\nb'])(
    'sanitizes %j and adds a hash of the original',
    (raw) => {
      const name = safeName(raw);
      expect(name).toMatch(SAFE_NAME);
      expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
      expect(name.endsWith(shortHash(raw))).toBe(true);
    },
  );

  it('is stable and tells apart values that sanitize alike', () => {
    expect(safeName('a b')).toBe(safeName('a b'));
    expect(safeName('a b')).not.toBe(safeName('a?b'));
    expect(shortHash('a b')).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('backendName', () => {
  it('prefixes the lower-cased service name', () => {
    expect(backendName('Orders')).toBe('svc_orders');
  });
});

describe('serverNames', () => {
  it('names by id, adding the node only for ids registered on several nodes', () => {
    expect(
      serverNames([
        { id: 'a', node: 'n1' },
        { id: 'b', node: 'n1' },
        { id: 'b', node: 'n2' },
      ]),
    ).toEqual(['a', 'b.n1', 'b.n2']);
  });

  it('gives later duplicates a different name, first in order keeps its own', () => {
    // "a.b" on node "c" and "a" on node "b.c" would both read "a.b.c".
    const names = serverNames([
      { id: 'a.b', node: 'c' },
      { id: 'a.b', node: 'x' },
      { id: 'a', node: 'b.c' },
      { id: 'a', node: 'y' },
    ]);
    expect(names[0]).toBe('a.b.c');
    expect(names[2]).toMatch(/^a\.b\.c-[0-9a-f]{8}$/);
    expect(new Set(names).size).toBe(4);
  });
});
