/**
 * docs/conformance.md lists every case of the suite with the section it checks, and every
 * section a case names is a heading of its document.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { listCases } from './suite.js';

const doc = readFileSync('docs/conformance.md', 'utf8');

/** The rows of the table under "## The cases": section and case name. */
function documentedCases(): Array<{ name: string; section: string }> {
  const start = doc.indexOf('\n## The cases\n');
  const end = doc.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  return [...doc.slice(start, end).matchAll(/^\| (docs\/[^|]+?) +\| `(.+)` +\|$/gm)].map((m) => ({
    section: m[1],
    name: m[2],
  }));
}

/** Whether `docs/x.md §N`, `docs/x.md §N.M` or `docs/x.md, Heading` names a heading of that document. */
function sectionExists(section: string): boolean {
  const [, file, rest] = /^(docs\/[a-z-]+\.md)(.*)$/.exec(section) ?? [];
  if (!file) return false;
  const text = readFileSync(file, 'utf8');
  if (rest === '') return true;
  const numbered = /^ §(\d+)(?:\.(\d+))?$/.exec(rest);
  if (numbered) {
    const heading = numbered[2] ? `### ${numbered[1]}.${numbered[2]} ` : `## ${numbered[1]}. `;
    return text.split('\n').some((line) => line.startsWith(heading));
  }
  const named = /^, (.+)$/.exec(rest);
  return (
    named !== null && text.split('\n').some((line) => /^#{2,3} /.test(line) && line.replace(/^#+ /, '') === named[1])
  );
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

describe('docs/conformance.md', () => {
  it('lists exactly the cases of the suite, each with its section', () => {
    expect(documentedCases().sort(byName)).toEqual(listCases().sort(byName));
  });

  it('names each case once', () => {
    const names = listCases().map((c) => c.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('cites only sections its documents have', () => {
    const sections = [...new Set(listCases().map((c) => c.section))];
    expect(sections.length).toBeGreaterThan(15);
    expect(sections.filter((s) => !sectionExists(s))).toEqual([]);
  });
});
