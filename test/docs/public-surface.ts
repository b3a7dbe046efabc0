// Reads the names a package entry point exports from its source, without type-checking (fast): the
// entry files list their exports by name (`export { a, type B } from './x.js'`), and each name is
// followed to the statement that declares it, to see whether it carries a doc comment.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** One exported name and the statement that declares it. */
export interface ExportedName {
  name: string;
  /** The declaring statement (or variable declaration), for its doc comment. */
  declaration: ts.Node;
  /** The file that declares it. */
  file: string;
}

const sources = new Map<string, ts.SourceFile>();

function sourceOf(file: string): ts.SourceFile {
  let source = sources.get(file);
  if (source === undefined) {
    source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    sources.set(file, source);
  }
  return source;
}

/** `./x.js` from `file`, as the `.ts` source file. */
function resolveModule(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) throw new Error(`${file}: re-exports package ${specifier}`);
  const path = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
  if (!existsSync(path)) throw new Error(`${file}: cannot find ${specifier}`);
  return path;
}

const hasExportModifier = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) &&
  (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** The names `file` declares and exports itself, with their declarations. */
function ownExports(file: string): Map<string, ts.Node> {
  const own = new Map<string, ts.Node>();
  for (const statement of sourceOf(file).statements) {
    if (!hasExportModifier(statement)) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name)) own.set(declaration.name.text, declaration);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined &&
      !own.has(statement.name.text) // an overloaded function: its first signature carries the doc
    ) {
      own.set(statement.name.text, statement);
    }
  }
  return own;
}

const exportsOf = new Map<string, ExportedName[]>();

/** Every name `file` exports, sorted, each followed to its declaration. */
export function exportedNames(file: string): ExportedName[] {
  const path = resolve(file);
  let names = exportsOf.get(path);
  if (names === undefined) {
    names = collectExports(path);
    exportsOf.set(path, names);
  }
  return names;
}

function collectExports(file: string): ExportedName[] {
  const found = new Map<string, ExportedName>();
  const add = (exported: ExportedName) => {
    if (found.has(exported.name)) throw new Error(`${file}: ${exported.name} is exported twice`);
    found.set(exported.name, exported);
  };
  for (const [name, declaration] of ownExports(file)) add({ name, declaration, file });
  for (const statement of sourceOf(file).statements) {
    if (!ts.isExportDeclaration(statement) || statement.moduleSpecifier === undefined) continue;
    const target = resolveModule(file, (statement.moduleSpecifier as ts.StringLiteral).text);
    const clause = statement.exportClause;
    if (clause === undefined || !ts.isNamedExports(clause)) {
      for (const exported of exportedNames(target)) add(exported);
      continue;
    }
    const fromTarget = new Map(exportedNames(target).map((e) => [e.name, e]));
    for (const element of clause.elements) {
      const local = (element.propertyName ?? element.name).text;
      const declared = fromTarget.get(local);
      if (declared === undefined) throw new Error(`${file}: ${target} does not export ${local}`);
      add({ ...declared, name: element.name.text });
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether `node` has a doc comment (`/** ... *\/`) with some text or tags. */
export function hasDocComment(node: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(node).some((doc) => doc.getText().replace(/[/*\s]/g, '') !== '');
}
