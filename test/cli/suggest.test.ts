import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest } from '../../src/cli/suggest.ts';

describe('editDistance', () => {
  it('counts inserts, deletes, substitutions and a swap of neighbours as one edit each', () => {
    expect(editDistance('port', 'port', 2)).toBe(0);
    expect(editDistance('prot', 'port', 2)).toBe(1); // swap
    expect(editDistance('por', 'port', 2)).toBe(1); // insert
    expect(editDistance('poort', 'port', 2)).toBe(1); // delete
    expect(editDistance('pxrt', 'port', 2)).toBe(1); // substitute
    expect(editDistance('serv', 'resync', 9)).toBe(5);
  });

  it('stops past its limit', () => {
    expect(editDistance('a', 'abcdef', 2)).toBe(3);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
  });
});

describe('nearest and didYouMean', () => {
  const flags = ['port', 'host', 'data-dir', 'policy-dir', 'dev', 'domain', 'domain-owner'];

  it('names the one known name within two edits', () => {
    expect(nearest('policy-dri', flags)).toEqual(['policy-dir']);
    expect(didYouMean('domian', flags, (n) => `'--${n}'`)).toBe(" (did you mean '--domain'?)");
  });

  it('names every name at the same nearest distance', () => {
    expect(nearest('hort', flags)).toEqual(['port', 'host']);
    expect(didYouMean('hort', flags)).toBe(" (did you mean 'port' or 'host'?)");
  });

  it('guesses nothing for a word that resembles no name, or for a very short one', () => {
    expect(nearest('policies', flags)).toEqual([]);
    expect(didYouMean('policies', flags)).toBe('');
    expect(nearest('x', ['y', 'dev'])).toEqual([]);
    expect(nearest('de', ['dev'])).toEqual([]);
    expect(nearest('dve', ['dev'])).toEqual(['dev']);
  });

  it('never offers the name given', () => {
    expect(nearest('port', ['port', 'sort'])).toEqual(['sort']);
  });
});
