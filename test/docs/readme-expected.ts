// The `// =>` results of README examples: what they may say, and how a value is compared with them.
// Self-contained (no imports): the README runner also transpiles this file into the consumer project,
// where the instrumented examples call `checkResult()` through `globalThis.__readme`.
//
// A result is a JavaScript literal, optionally followed by prose after a colon or a space:
//   // => 3                               // => 'fixed-1'
//   // => true: a waiting task may start now
//   // => { name: 'fixed-1', capacity: 3 }   (exactly these keys; keys whose value is undefined are ignored)
//   // => { name: 'memory-1', ..., charged: {...} }   (`...`: other keys may follow; `{...}`: any object)
//   // => [1, 2, ...]                       (an array starting with 1, 2)

const ANY_OBJECT = Symbol('any object');
const PARTIAL = Symbol('other keys allowed');
const REST = Symbol('other items allowed');

/** The literal at the start of `text`, or `undefined` when `text` does not start with one. */
function leadingLiteral(text: string): string | undefined {
  const first = text[0];
  if (first === '{' || first === '[' || first === "'" || first === '"' || first === '`') {
    const closers: string[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === "'" || c === '"' || c === '`') {
        let j = i + 1;
        while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
        if (j >= text.length) return undefined;
        i = j;
      } else if (c === '{' || c === '[' || c === '(') {
        closers.push(c === '{' ? '}' : c === '[' ? ']' : ')');
      } else if (c === '}' || c === ']' || c === ')') {
        if (closers.pop() !== c) return undefined;
      }
      if (closers.length === 0) return text.slice(0, i + 1);
    }
    return undefined;
  }
  return /^(?:-?(?:\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?|Infinity)|true|false|null|undefined|NaN)(?![\w.])/.exec(
    text,
  )?.[0];
}

/** Turns the `...` and `{...}` of a literal into markers the comparison understands. */
function markEllipses(literal: string): string {
  let out = '';
  const open: string[] = [];
  for (let i = 0; i < literal.length; i++) {
    const c = literal[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < literal.length && literal[j] !== c) j += literal[j] === '\\' ? 2 : 1;
      out += literal.slice(i, j + 1);
      i = j;
    } else if (literal.startsWith('{...}', i)) {
      out += '__anyObject';
      i += 4;
    } else if (literal.startsWith('...', i)) {
      out += open.at(-1) === '[' ? '__rest' : '[__partial]: true';
      i += 2;
    } else {
      if (c === '{' || c === '[') open.push(c);
      if (c === '}' || c === ']') open.pop();
      out += c;
    }
  }
  return out;
}

/** The result a `// =>` comment states, or why it states none that can be checked. */
export function parseExpected(text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  const literal = leadingLiteral(trimmed);
  if (literal === undefined) return { error: `no value at the start of "// => ${trimmed}"` };
  const after = trimmed.slice(literal.length);
  if (after !== '' && !/^[:;,]?\s/.test(after) && after !== ':') {
    return { error: `unexpected "${after}" after the value in "// => ${trimmed}"` };
  }
  try {
    const evaluate = new Function('__anyObject', '__partial', '__rest', `return (${markEllipses(literal)});`);
    return { value: evaluate(ANY_OBJECT, PARTIAL, REST) };
  } catch (error) {
    return { error: `cannot read "${literal}": ${(error as Error).message}` };
  }
}

/** Whether `actual` is what `expected` (a value from {@link parseExpected}) states. */
export function matchesExpected(actual: unknown, expected: unknown): boolean {
  if (expected === ANY_OBJECT) return typeof actual === 'object' && actual !== null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return false;
    const open = expected.at(-1) === REST;
    const items = open ? expected.slice(0, -1) : expected;
    if (open ? actual.length < items.length : actual.length !== items.length) return false;
    return items.every((item, i) => matchesExpected(actual[i], item));
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    const keys = Object.keys(expected);
    if (!keys.every((key) => matchesExpected(record[key], (expected as Record<string, unknown>)[key])))
      return false;
    if (PARTIAL in expected) return true;
    return Object.keys(record).every((key) => keys.includes(key) || record[key] === undefined);
  }
  return Object.is(actual, expected);
}

/** A value as a check failure shows it. */
export function describeActual(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return `${v}n`;
        if (v === undefined) return '<undefined>';
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '<cycle>';
          seen.add(v);
        }
        return v;
      }) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

/** One executed `// =>` check. */
export interface CheckResult {
  /** README line of the `// =>` comment. */
  line: number;
  ok: boolean;
  expected: string;
  actual: string;
}

/** Checks `actual` against a `// =>` comment; records and returns the result. */
export function checkResult(
  results: CheckResult[],
  line: number,
  actual: unknown,
  expected: string,
): unknown {
  const parsed = parseExpected(expected);
  const ok = 'value' in parsed && matchesExpected(actual, parsed.value);
  results.push({
    line,
    ok,
    expected: 'error' in parsed ? `${expected} (${parsed.error})` : expected,
    actual: describeActual(actual),
  });
  return actual;
}
