import { describe, expect, it } from 'vitest';
import { instrumentBlock, parseDirective, readmeBlocks, toJavaScript } from './readme-blocks.js';
import { type CheckResult, checkResult, matchesExpected, parseExpected } from './readme-expected.js';

const value = (text: string) => {
  const parsed = parseExpected(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.value;
};

describe('README `// =>` results', () => {
  it('parseExpected() reads a literal and ignores the prose after it', () => {
    expect(value("'fixed-1'")).toBe('fixed-1');
    expect(value('3')).toBe(3);
    expect(value('true: a waiting task may start now; a second call returns false')).toBe(true);
    expect(value("{ name: 'a', capacity: 3 }")).toEqual({ name: 'a', capacity: 3 });
    expect(value("'http://127.0.0.1:9464/'")).toBe('http://127.0.0.1:9464/');
    expect(value('null')).toBe(null);
  });

  it('parseExpected() reports a comment that states no value', () => {
    expect(parseExpected('the URL, however often the wait was evicted')).toEqual({
      error: 'no value at the start of "// => the URL, however often the wait was evicted"',
    });
    expect(parseExpected('3x')).toHaveProperty('error');
    expect(parseExpected('{ a: ')).toHaveProperty('error');
  });

  it('matchesExpected() wants exactly the keys stated, unless `...` allows others', () => {
    expect(matchesExpected({ a: 1, b: 2 }, value('{ a: 1, b: 2 }'))).toBe(true);
    expect(matchesExpected({ a: 1, b: 2, c: 3 }, value('{ a: 1, b: 2 }'))).toBe(false);
    expect(matchesExpected({ a: 1, b: 2, c: 3 }, value('{ a: 1, ..., b: 2 }'))).toBe(true);
    expect(matchesExpected({ a: 1, gpu: undefined }, value('{ a: 1 }'))).toBe(true);
    expect(matchesExpected({ a: 1 }, value('{ a: 1, b: 2 }'))).toBe(false);
    expect(matchesExpected({ a: 2, b: 2 }, value('{ a: 1, ... }'))).toBe(false);
  });

  it('matchesExpected() takes `{...}` for any object and `[x, ...]` for a prefix', () => {
    const readings = value("{ name: 'memory-1', ..., readings: { memory: {...} }, charged: {...} }");
    expect(
      matchesExpected({ name: 'memory-1', issued: 0, readings: { memory: { x: 1 } }, charged: {} }, readings),
    ).toBe(true);
    expect(matchesExpected({ name: 'memory-1', readings: { memory: null }, charged: {} }, readings)).toBe(
      false,
    );
    expect(matchesExpected([1, 2, 3], value('[1, 2, ...]'))).toBe(true);
    expect(matchesExpected([1], value('[1, 2, ...]'))).toBe(false);
    expect(matchesExpected([1, 2, 3], value('[1, 2]'))).toBe(false);
    expect(matchesExpected('a...b', value("'a...b'"))).toBe(true);
  });

  it('checkResult() records what it saw', () => {
    const results: CheckResult[] = [];
    checkResult(results, 12, { a: 1 }, '{ a: 2 }');
    checkResult(results, 13, 'x', "'x': fine");
    expect(results).toEqual([
      { line: 12, ok: false, expected: '{ a: 2 }', actual: '{"a":1}' },
      { line: 13, ok: true, expected: "'x': fine", actual: '"x"' },
    ]);
  });
});

describe('README blocks', () => {
  it('readmeBlocks() finds fenced blocks with their line and directive', () => {
    const markdown = [
      '# x',
      '<!-- readme-test: activity crunch [[1,2]] -->',
      '',
      '```ts',
      'a();',
      '```',
      '```sh',
      'npm test',
      '```',
    ].join('\n');
    expect(readmeBlocks(markdown)).toEqual([
      {
        line: 4,
        lang: 'ts',
        code: 'a();',
        directive: { kind: 'activity', name: 'crunch', args: [[1, 2]], server: true, gpu: false },
      },
      {
        line: 7,
        lang: 'sh',
        code: 'npm test',
        directive: { kind: 'script', args: [], server: false, gpu: false },
      },
    ]);
  });

  it('parseDirective() reads server, gpu, setup and skip, and rejects unknown words', () => {
    expect(parseDirective('server gpu setup:render-workflows')).toEqual({
      kind: 'script',
      args: [],
      server: true,
      gpu: true,
      setup: 'render-workflows',
    });
    expect(parseDirective('skip needs a GPU cluster')).toMatchObject({
      kind: 'skip',
      skipReason: 'needs a GPU cluster',
    });
    expect(() => parseDirective('servre')).toThrow('unknown word "servre"');
    expect(() => parseDirective('skip')).toThrow('skip needs a reason');
  });

  it('instrumentBlock() turns `// =>` statements into checks with their README line', () => {
    const code = [
      'const s = new FixedSlotSupplier({ slots: 3 }); // => { capacity: 3 }',
      'try {',
      '  f();',
      '} catch (error) {',
      "  (error as Error).message; // => 'boom'",
      '}',
    ].join('\n');
    const { code: out, checks } = instrumentBlock(code, 20);
    expect(checks).toEqual([20, 24]);
    expect(out).toContain(
      `const s = new FixedSlotSupplier({ slots: 3 }); __readme.check(20, s, "{ capacity: 3 }"); // => { capacity: 3 }`,
    );
    expect(out).toContain(`__readme.check(24, ((error as Error).message), "'boom'"); // => 'boom'`);
    expect(toJavaScript(out)).toContain('__readme.check(24, (error.message), "\'boom\'");');
  });

  it('instrumentBlock() refuses a `// =>` it cannot check', () => {
    expect(() => instrumentBlock('foo({\n  a: 1, // => 1\n});', 1)).toThrow(
      'README line 2: `// =>` must follow a statement on its own line',
    );
    expect(() => instrumentBlock('const a = 1, b = 2; // => 1', 5)).toThrow(
      'README line 5: a `// =>` result needs one declared name',
    );
  });
});
