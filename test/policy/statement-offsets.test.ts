import { describe, expect, it } from 'vitest';
import { locateInFile, statementsOf } from '../../src/policy/statement-offsets.ts';

describe('statementsOf', () => {
  it('reads each statement from its first character to its ;, past comments and strings', () => {
    const text = '// a; comment\n@id("x;y")\npermit (principal, action, resource); // after\n\n  forbid (principal == User::"//not a comment", action, resource);\n';
    expect(statementsOf(text)).toEqual([
      { text: '@id("x;y")\npermit (principal, action, resource);', offset: text.indexOf('@id') },
      { text: 'forbid (principal == User::"//not a comment", action, resource);', offset: text.indexOf('forbid') },
    ]);
  });

  it('keeps an escaped quote inside a string', () => {
    expect(statementsOf('permit (principal == User::"a\\";b", action, resource);').map((s) => s.text)).toEqual(['permit (principal == User::"a\\";b", action, resource);']);
  });
});

describe('locateInFile', () => {
  it('puts texts given in any order back in file order, two equal texts at their two places', () => {
    const p = 'permit (principal, action, resource);';
    const q = 'forbid (principal, action, resource);';
    const text = `${p}\n${q}\n${p}\n`;
    expect(locateInFile(text, [q, p, p])).toEqual([
      { text: p, offset: 0 },
      { text: q, offset: p.length + 1 },
      { text: p, offset: 2 * (p.length + 1) },
    ]);
  });
});
