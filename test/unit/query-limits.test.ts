/** The nesting count that guards the parser's stack, on documents built to fool it. */
import { describe, expect, it } from 'vitest';
import { nestingOf } from '../../src/server/query-limits.js';

describe('nestingOf', () => {
  it('should count brackets of selections, lists and arguments', () => {
    expect(nestingOf('{ a(x: [[1]]) { b { c } } }', 100)).toBe(4);
  });

  it('should not count brackets inside strings, block strings and comments', () => {
    expect(nestingOf('{ a(s: "[[[[", t: """ {{{{ """) { b } }', 100)).toBe(2);
    expect(nestingOf('# [[[[[\n{ a }', 100)).toBe(1);
  });

  it('should not end a block string at an escaped triple quote', () => {
    const deep = `${'['.repeat(500)}"x"${']'.repeat(500)}`;
    expect(nestingOf(`{ a(input: """ \\""" """, b: ${deep}) }`, 1_000)).toBe(502);
  });

  it('should stop counting past the limit', () => {
    expect(nestingOf('['.repeat(10_000), 100)).toBe(101);
  });
});
