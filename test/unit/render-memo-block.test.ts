import { describe, expect, it } from 'vitest';
import { compileTemplates } from '../../src/render/compile-templates.ts';

/**
 * `{{#memo}}` writes a service's block again from the last render only while
 * nothing the block can read changed: the service object, its position in
 * the list, and the rest of the context.
 */
const main = '{{#each services}}{{#memo}}{{ident name}}:{{int port}}:{{ident @root.global.mode}}@{{int @index}};{{/memo}}{{/each}}';

function setup() {
  const { main: template } = compileTemplates({ main, partials: {} });
  return (services: readonly object[], mode = 'http') => template({ services, global: { mode } });
}

describe('memo block', () => {
  const a = Object.freeze({ name: 'a', port: 1 });
  const b = Object.freeze({ name: 'b', port: 2 });

  it('writes what a fresh render writes when a service is replaced, moves or the context changes', () => {
    const run = setup();
    expect(run([a, b])).toBe('a:1:http@0;b:2:http@1;');
    expect(run([a, { name: 'b', port: 3 }])).toBe('a:1:http@0;b:3:http@1;');
    expect(run([b, a])).toBe('b:2:http@0;a:1:http@1;');
    expect(run([b, a], 'tcp')).toBe('b:2:tcp@0;a:1:tcp@1;');
    expect(run([b, a], 'http')).toBe('b:2:http@0;a:1:http@1;');
  });

  it('reuses the block of an unchanged service instead of rendering it again', () => {
    const run = setup();
    let reads = 0;
    const counted = { name: 'c', get port() { reads += 1; return 4; } };
    run([counted, a]);
    run([counted, b]);
    expect(reads).toBe(1);
    // The same object at another position is rendered again (@index is part of its text).
    run([b, counted]);
    expect(reads).toBe(2);
  });

  it('with the values it reads named, compares only those: other context changes keep its text', () => {
    const named = '{{#each services}}{{#memo @root.global}}{{ident name}}:{{ident @root.global.mode}};{{/memo}}{{/each}}';
    const { main: template } = compileTemplates({ main: named, partials: {} });
    let reads = 0;
    const counted = { get name() { reads += 1; return 'c'; } };
    const run = (routes: readonly string[], mode = 'http') => template({ services: [counted], global: { mode }, routes });
    expect(run(['c'])).toBe('c:http;');
    // A route added (as with a new service): not something the block reads.
    expect(run(['c', 'd'])).toBe('c:http;');
    expect(reads).toBe(1);
    // A named value changed: rendered again.
    expect(run(['c', 'd'], 'tcp')).toBe('c:tcp;');
    expect(reads).toBe(2);
  });
});
