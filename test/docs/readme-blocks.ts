// README.md's code blocks: finding them, reading how each one is run, and instrumenting their
// `// =>` results so that running a block checks them (see test/package/readme.test.ts).
import ts from 'typescript';

/**
 * How the README runner runs a block, from an HTML comment on the line before it:
 *
 *   <!-- readme-test: server -->                  needs the dev server (connections default to it;
 *                                                 `Worker.run()` shuts the Worker down once it runs)
 *   <!-- readme-test: activity transcode -->      the block's exports are activities; `transcode` runs
 *   <!-- readme-test: activity crunch [[1,2,3]] -->   ... with these arguments (JSON, no spaces)
 *   <!-- readme-test: workflow report ["acme"] -->    the block is workflow code; `report` runs
 *   <!-- readme-test: server setup:render-workflows -->   a named setup runs first
 *   <!-- readme-test: gpu -->                     a fake `nvidia-smi` (two GPUs) is first on PATH
 *   <!-- readme-test: skip <reason> -->           not run (say why)
 *
 * A block without a comment runs as a plain script with no server.
 */
export interface BlockDirective {
  kind: 'script' | 'activity' | 'workflow' | 'skip';
  /** The activity or workflow to run. */
  name?: string;
  args: unknown[];
  server: boolean;
  gpu: boolean;
  setup?: string;
  skipReason?: string;
}

/** One fenced code block of README.md. */
export interface ReadmeBlock {
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  code: string;
  directive: BlockDirective;
}

const DIRECTIVE = /<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;

/** Reads a `readme-test:` directive; throws on anything it does not understand. */
export function parseDirective(text: string): BlockDirective {
  const directive: BlockDirective = { kind: 'script', args: [], server: false, gpu: false };
  const words = text.trim().split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === 'skip') {
      directive.kind = 'skip';
      directive.skipReason = words.slice(i + 1).join(' ');
      if (!directive.skipReason) throw new Error('readme-test: skip needs a reason');
      return directive;
    }
    if (word === 'server') directive.server = true;
    else if (word === 'gpu') directive.gpu = true;
    else if (word.startsWith('setup:')) directive.setup = word.slice('setup:'.length);
    else if (word === 'activity' || word === 'workflow') {
      directive.kind = word;
      directive.server = true;
      directive.name = words[++i];
      if (directive.name === undefined) throw new Error(`readme-test: ${word} needs a name`);
      const next = words[i + 1];
      if (next?.startsWith('[')) {
        directive.args = JSON.parse(next) as unknown[];
        i++;
      }
    } else {
      throw new Error(`readme-test: unknown word "${word}" in "${text}"`);
    }
  }
  return directive;
}

/** Every fenced block of a Markdown text, with its directive. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    let previous = start - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous--;
    const comment = previous >= 0 ? DIRECTIVE.exec(lines[previous]!) : null;
    blocks.push({
      line: start + 1,
      lang: open[1] ?? '',
      code: lines.slice(start + 1, end).join('\n'),
      directive: comment ? parseDirective(comment[1]!) : parseDirective(''),
    });
    i = end;
  }
  return blocks;
}

/** A block rewritten so that each `// =>` result is checked when its statement runs. */
export interface InstrumentedBlock {
  /** TypeScript source calling `__readme.check(line, value, expected)`. */
  code: string;
  /** README lines of the `// =>` comments, in order. */
  checks: number[];
}

/**
 * Rewrites every statement followed by a `// =>` comment on its last line: an expression statement
 * `expr; // => v` becomes `__readme.check(line, (expr), 'v');`, a declaration of one name
 * `const x = expr; // => v` is followed by a check of `x`. Throws for a `// =>` anywhere else.
 * `firstLine` is the README line of the block's first code line.
 */
export function instrumentBlock(code: string, firstLine: number): InstrumentedBlock {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const handled = new Set<number>();
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + firstLine;
  const resultComment = (node: ts.Node): { pos: number; expected: string } | undefined => {
    for (const range of ts.getTrailingCommentRanges(code, node.end) ?? []) {
      const text = code.slice(range.pos, range.end);
      if (range.kind === ts.SyntaxKind.SingleLineCommentTrivia && text.startsWith('// =>')) {
        return { pos: range.pos, expected: text.slice('// =>'.length).trim() };
      }
    }
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    const result =
      ts.isExpressionStatement(node) || ts.isVariableStatement(node) ? resultComment(node) : undefined;
    if (result !== undefined) {
      const line = lineOf(result.pos);
      handled.add(result.pos);
      const expected = JSON.stringify(result.expected);
      if (ts.isExpressionStatement(node)) {
        const expression = node.expression.getText(source);
        edits.push({
          start: node.getStart(source),
          end: node.end,
          text: `__readme.check(${line}, (${expression}), ${expected});`,
        });
      } else if (ts.isVariableStatement(node)) {
        const [declaration, ...more] = node.declarationList.declarations;
        if (declaration === undefined || more.length > 0 || !ts.isIdentifier(declaration.name)) {
          throw new Error(`README line ${line}: a \`// =>\` result needs one declared name`);
        }
        edits.push({
          start: node.end,
          end: node.end,
          text: ` __readme.check(${line}, ${declaration.name.text}, ${expected});`,
        });
      }
      return; // a `// =>` inside this statement is then left unhandled, and reported below
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  // Every `// =>` must have been attached to a statement it can check.
  const checks: number[] = [];
  for (const match of code.matchAll(/\/\/ =>/g)) {
    const line = lineOf(match.index);
    if (!handled.has(match.index)) {
      throw new Error(`README line ${line}: \`// =>\` must follow a statement on its own line`);
    }
    checks.push(line);
  }
  let text = code;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  }
  return { code: text, checks };
}

/** TypeScript to an ES module Node can run (types removed, nothing else changed). */
export function toJavaScript(code: string): string {
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  }).outputText;
}
