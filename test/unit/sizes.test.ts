// Sizes kept by a test: no file in src/ over 400 lines, no function over 80. A function whose
// leading comment says it "counts as data" (a table of declarations written as statements) is
// exempt from the function rule, as the design allows.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { sourceFiles } from '../helpers/source-files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;

interface Long {
  readonly where: string;
  readonly lines: number;
}

function longFunctions(file: string, text: string): Long[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: Long[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(n.end).line;
      const comment = (ts.getLeadingCommentRanges(text, n.getFullStart()) ?? [])
        .map((r) => text.slice(r.pos, r.end))
        .join('\n');
      if (last - first + 1 > MAX_FUNCTION_LINES && !/counts as data/.test(comment)) {
        const name = 'name' in n && n.name !== undefined ? (n.name as ts.Node).getText(sf) : '(anonymous)';
        found.push({ where: `${relative(ROOT, file)}:${first + 1} ${name}`, lines: last - first + 1 });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const FILES = sourceFiles(join(ROOT, 'src'));

describe('sizes', () => {
  it(`no file in src/ is over ${MAX_FILE_LINES} lines`, () => {
    const long = FILES.map((f) => ({
      where: relative(ROOT, f),
      lines: readFileSync(f, 'utf8').split('\n').length - 1,
    })).filter((f) => f.lines > MAX_FILE_LINES);
    assert.deepEqual(long, []);
  });

  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines (tables marked as data aside)`, () => {
    assert.ok(FILES.length > 100);
    assert.deepEqual(
      FILES.flatMap((f) => longFunctions(f, readFileSync(f, 'utf8'))),
      [],
    );
  });

  it('finds a long function and honours the data marker (the check itself)', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  x += ${i};`).join('\n');
    const text = `function long(x: number) {\n${body}\n}\n/** A table: counts as data. */\nfunction table(x: number) {\n${body}\n}\n`;
    const found = longFunctions(join(ROOT, 'src', 'x.ts'), text);
    assert.deepEqual(
      found.map((f) => f.where),
      ['src/x.ts:1 long'],
    );
  });
});
