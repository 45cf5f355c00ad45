/**
 * What a policy reads of the context (context-reads.ts), and which lists the schema lets Cedar be
 * given empty (context-lists.ts). A read missed here is a forbid left blind to the list it tests: the
 * engine-level consequences are in engine.test.ts and engine-differential.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptiableLists, stringSetAttributes, withoutUnreadLists } from '../../src/policy/context-lists.ts';
import { policyContextReads, unionOfReads, type ContextReads } from '../../src/policy/context-reads.ts';
import { SCHEMA_FILE } from '../../src/policy/load-policies.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const reads = (condition: string): string[] | 'all' => {
  const r = policyContextReads(`@id("x") // context == {} and context.secret, in a comment, are not read\npermit (principal, action, resource) when { ${condition} };`, false);
  return r === 'all' ? 'all' : [...r].sort();
};

describe('what a policy reads of the context, from Cedar\'s parse', () => {
  it('context.a, context["a"], context has a (and a.b), and a method on any of them read a', () => {
    expect(reads('context.versions.contains("1.0.0")')).toEqual(['versions']);
    expect(reads('context["versions"].containsAll(["1.0.0"])')).toEqual(['versions']);
    expect(reads('context.versions.containsAny(["1.0.0"])')).toEqual(['versions']);
    expect(reads('context.versions.isEmpty()')).toEqual(['versions']);
    expect(reads('context has versions')).toEqual(['versions']);
    expect(reads('context has versions.size')).toEqual(['versions']);
    expect(reads('context.a.b == 1')).toEqual(['a']);
    expect(reads('context["a b"] == 1 && context.c like "x*"')).toEqual(['a b', 'c']);
    expect(reads('if context has a then context.a else context.b')).toEqual(['a', 'b']);
    expect(reads('ip("10.0.0.1").isInRange(context.net)')).toEqual(['net']);
  });

  it('conditions that name no context read nothing, whatever the comments and annotations say', () => {
    expect(reads('principal in Group::"context"')).toEqual([]);
    expect(reads('resource.name == "context.versions"')).toEqual([]);
    expect(reads('{"Var": "context"} == {"Var": "context"}')).toEqual([]);
    expect(policyContextReads('@id("context.versions")\n@note("reads context")\npermit (principal, action, resource);', false)).toEqual(new Set());
  });

  it('the context used whole, anywhere, reads all of it', () => {
    for (const c of [
      'context == {}',
      'context == {"versions": ["1"]}',
      '[context].isEmpty()',
      '{"c": context}.c.versions.isEmpty()',
      '{".": {"left": context, "attr": "x"}} == {}',
      'context is User',
      'context in Group::"g"',
      'context.versions.isEmpty() || context != {}',
      'if true then context else context',
    ]) {
      expect(reads(c), c).toBe('all');
    }
  });

  it('a template reads what its conditions read; a text Cedar does not parse reads all', () => {
    expect([...(policyContextReads('permit (principal == ?principal, action, resource in ?resource) unless { context.targetStatus == "Archived" };', true) as Set<string>)]).toEqual(['targetStatus']);
    expect(policyContextReads('permit (principal, action, resource) when { context. };', false)).toBe('all');
  });

  it('reads together: the union, or all when one reads all', () => {
    const of = (...names: string[]): ContextReads => new Set(names);
    expect([...(unionOfReads([of('a'), of(), of('b', 'a')]) as Set<string>)].sort()).toEqual(['a', 'b']);
    expect(unionOfReads([of('a'), 'all', of('b')])).toBe('all');
    expect(unionOfReads([])).toEqual(new Set());
  });
});

describe('the lists Cedar may be given empty', () => {
  const shipped = readFileSync(join(REPO_POLICIES, SCHEMA_FILE), 'utf8');

  it('the shipped schema: every context attribute declared Set<String>, common types followed', () => {
    const sets = Object.fromEntries([...stringSetAttributes(shipped)].map(([action, names]) => [action, [...names].sort()]));
    expect(sets).toEqual({
      'Action::"UpdatePackageVersionsStatus"': ['currentStatuses', 'versions'],
      'Action::"DisposePackageVersions"': ['currentStatuses', 'versions'],
      'Action::"DeletePackageVersions"': ['currentStatuses', 'versions'],
      'Action::"Resync"': ['currentStatuses', 'versions'],
      'Action::"ListPackageVersions"': ['include'],
      'Action::"DeletePackage"': ['currentStatuses', 'versions'],
      'Action::"CopyPackageVersions"': ['currentStatuses', 'destinationStatuses', 'versions'],
      'Action::"CreateRepository"': ['upstreams'],
      'Action::"UpdateRepository"': ['upstreams'],
    });
  });

  it('a namespace, an alias of Set<String> and __cedar::String count; a set of anything else does not', () => {
    const schema = `namespace N {
      entity E;
      type Names = Set<String>;
      type Ctx = { a: Names, b: Set<__cedar::String>, c: Set<Long>, d: Set<E>, e: String, f: Set<Set<String>> };
      action A appliesTo { principal: [E], resource: [E], context: Ctx };
    }`;
    expect([...stringSetAttributes(schema).get('N::Action::"A"')!].sort()).toEqual(['a', 'b']);
  });

  it('where String could name a declared type, nothing is emptied (Cedar would read the list as entities)', () => {
    const schema = 'entity String; entity E; action A appliesTo { principal: [E], resource: [E], context: { a: Set<String>, b: Set<__cedar::String> } };';
    expect([...stringSetAttributes(schema).get('Action::"A"')!]).toEqual(['b']);
  });

  it('only non-empty lists of well-formed strings, under declared names, are emptiable', () => {
    const declared = new Set(['versions', 'currentStatuses', 'upstreams']);
    expect(emptiableLists({ versions: ['1', '2'], currentStatuses: [], other: ['x'] }, declared)).toEqual(['versions']);
    expect(emptiableLists({ versions: ['1', 2], currentStatuses: ['a', '\ud800'], upstreams: 'x' }, declared)).toBeUndefined();
    expect(emptiableLists({ versions: [['1']], currentStatuses: [null] }, declared)).toBeUndefined();
    // A pair of surrogates is a character, not a lone one.
    expect(emptiableLists({ versions: ['\u{1F600}'] }, declared)).toEqual(['versions']);
    expect(emptiableLists(['versions'], declared)).toBeUndefined();
    expect(emptiableLists(null, declared)).toBeUndefined();
  });

  it('the lists not read are given as [], in their place; the rest, and a context read whole, are as they came', () => {
    const context = { versions: ['1'], targetStatus: 'Archived', currentStatuses: ['Published'] };
    const given = withoutUnreadLists(context, ['versions', 'currentStatuses'], new Set(['currentStatuses']));
    expect(Object.entries(given)).toEqual([['versions', []], ['targetStatus', 'Archived'], ['currentStatuses', ['Published']]]);
    expect(context.versions).toEqual(['1']);
    expect(withoutUnreadLists(context, ['versions'], 'all')).toBe(context);
    expect(withoutUnreadLists(context, ['versions'], new Set(['versions']))).toBe(context);
  });
});
