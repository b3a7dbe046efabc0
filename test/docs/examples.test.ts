import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve('.');
const outDir = join(root, 'test-results', 'examples');

interface Example {
  source: string;
  line: number;
  code: string;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** ```ts blocks of README.md, and of every `@example` in TSDoc comments under src/. */
function collectExamples(): Example[] {
  const examples: Example[] = [];
  const fence = /```ts\n([\s\S]*?)```/g;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const match of readme.matchAll(fence)) {
    examples.push({
      source: 'README.md',
      line: readme.slice(0, match.index).split('\n').length,
      code: match[1]!,
    });
  }
  for (const file of tsFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const body = comment[1]!.replace(/^\s*\* ?/gm, '');
      const at = body.indexOf('@example');
      if (at < 0) continue;
      for (const match of body.slice(at).matchAll(fence)) {
        examples.push({
          source: relative(root, file),
          line: text.slice(0, comment.index).split('\n').length,
          code: match[1]!,
        });
      }
    }
  }
  return examples;
}

describe('documentation examples', () => {
  it('every exported class has an @example', () => {
    const missing: string[] = [];
    for (const file of tsFiles(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      // Error classes are exempt: their message is their documentation.
      for (const match of text.matchAll(
        /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)?\s*\nexport (?:abstract )?class (\w+)( extends \w*Error)?/g,
      )) {
        if (!match[3] && !match[1]?.includes('@example'))
          missing.push(`${relative(root, file)}: ${match[2]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every README and TSDoc example that gives Worker.create a slotwise supplier protects it from the eager-dispatch stall', () => {
    const unprotected = collectExamples()
      .filter(
        ({ code }) =>
          /Worker\.create\(/.test(code) &&
          /new \w+SlotSupplier\(|\.tuner\b/.test(code) &&
          !/slotwiseWorkerOptions\(|withSlotwise\(/.test(code),
      )
      .map(({ source, line }) => `${source}:${line}`);
    expect(unprotected).toEqual([]);
  });

  it('README and TSDoc examples type-check against the sources', () => {
    const examples = collectExamples();
    expect(examples.length).toBeGreaterThan(5);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const index: string[] = [];
    examples.forEach((example, i) => {
      const name = `example-${String(i).padStart(3, '0')}.mts`;
      index.push(`${name} <- ${example.source}:${example.line}`);
      writeFileSync(
        join(outDir, name),
        `// from ${example.source}:${example.line}\n${example.code}\nexport {};\n`,
      );
    });
    writeFileSync(join(outDir, 'INDEX.txt'), `${index.join('\n')}\n`);
    const srcRel = relative(outDir, join(root, 'src'));
    writeFileSync(
      join(outDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
          paths: {
            slotwise: [`${srcRel}/index.ts`],
            'slotwise/workflows': [`${srcRel}/workflows/index.ts`],
            'slotwise/activities': [`${srcRel}/activities/index.ts`],
            'slotwise/client': [`${srcRel}/client/index.ts`],
            'slotwise/examples/activities': [`${srcRel}/examples/activities.ts`],
            'slotwise/examples/workflows': [`${srcRel}/examples/workflows.ts`],
            // Examples of internal modules (not exported by the package) import them by source path.
            'slotwise/internal/*': [`${srcRel}/*`],
          },
        },
        include: ['*.mts'],
      }),
    );
    let output = '';
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', outDir], {
        encoding: 'utf8',
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // Name each failing example by where it is written, not by its temp file.
    const located = output.replace(/example-(\d{3})\.mts/g, (_, n: string) => {
      const example = examples[Number(n)]!;
      return `${example.source}:${example.line} (example ${n})`;
    });
    expect(located).toBe('');
  }, 240_000);
});
