// Every exported function of every package entry point documents itself: a JSDoc description and a @throws tag
// naming its PhysiotwinError codes (or `@throws nothing` for a function that cannot fail on any input its type
// admits). Read with the TypeScript compiler from the sources, through each package's exports map.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const packages = readdirSync(join(ROOT, 'packages')).filter((p) => existsSync(join(ROOT, 'packages', p, 'package.json')));

/** Entry files of a package: the '@physiotwin/source' target of every exports-map entry. */
function entries(p: string): string[] {
  const m = JSON.parse(readFileSync(join(ROOT, 'packages', p, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  return Object.values(m.exports).map((e) => join(ROOT, 'packages', p, e['@physiotwin/source']!));
}

const files = packages.flatMap(entries);
const program = ts.createProgram(files, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true, customConditions: ['@physiotwin/source'], types: [] });
const checker = program.getTypeChecker();

function undocumented(file: string): string[] {
  const source = program.getSourceFile(file)!;
  const moduleSymbol = checker.getSymbolAtLocation(source)!;
  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.valueDeclaration;
    if (!declaration) continue;
    const fn =
      ts.isFunctionDeclaration(declaration) ||
      (ts.isVariableDeclaration(declaration) && declaration.initializer && (ts.isArrowFunction(declaration.initializer) || ts.isFunctionExpression(declaration.initializer)));
    if (!fn) continue;
    const tags = ts.getJSDocTags(ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration).map((t) => t.tagName.text);
    const described = symbol.getDocumentationComment(checker).length > 0;
    if (!described || !tags.includes('throws')) missing.push(`${exported.name}${described ? '' : ' (no description)'}${tags.includes('throws') ? '' : ' (no @throws)'}`);
  }
  return missing;
}

describe('exported functions document themselves and their errors', () => {
  it.each(packages)('%s', (p) => {
    expect(entries(p).flatMap(undocumented)).toEqual([]);
  });
});
