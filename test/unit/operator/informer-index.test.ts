// The informer's indexes as the controllers use them: objects found by a derived value, kept right as
// objects change value, share it, and stop sharing it. No apiserver: objects enter through observe().
import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer } from '../../../src/operator/informer.js';
import { silentLogger } from '../../../src/log.js';

interface Thing {
  metadata: { name: string; namespace: string; resourceVersion: string };
  value: string[];
}

function informer(): Informer<Thing> {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const created = new Informer<Thing>(kc, { kind: { apiVersion: 'v1', kind: 'Thing', plural: 'things', namespaced: true }, logger: silentLogger() });
  created.addIndex('value', (thing) => thing.value);
  return created;
}

let version = 0;
const thing = (name: string, ...value: string[]): Thing => ({ metadata: { name, namespace: 'ns', resourceVersion: String(++version) }, value });
const names = (found: Thing[]) => found.map((t) => t.metadata.name).sort();

describe('Informer indexes', () => {
  it('one object, then two sharing a value, then one again as the other moves away', () => {
    const things = informer();
    things.observe(thing('a', 'x'));
    expect(names(things.byIndex('value', 'x'))).toEqual(['a']);
    things.observe(thing('b', 'x', 'y'));
    expect(names(things.byIndex('value', 'x'))).toEqual(['a', 'b']);
    expect(names(things.byIndex('value', 'y'))).toEqual(['b']);
    things.observe(thing('b', 'z')); // b leaves x and y
    expect(names(things.byIndex('value', 'x'))).toEqual(['a']);
    expect(things.byIndex('value', 'y')).toEqual([]);
    expect(names(things.byIndex('value', 'z'))).toEqual(['b']);
    things.observe(thing('a', 'z')); // a leaves x: nothing left there
    expect(things.byIndex('value', 'x')).toEqual([]);
    expect(names(things.byIndex('value', 'z'))).toEqual(['a', 'b']);
  });

  it('a value listed twice by one object is one entry', () => {
    const things = informer();
    things.observe(thing('a', 'x', 'x'));
    expect(names(things.byIndex('value', 'x'))).toEqual(['a']);
    things.observe(thing('a', 'y'));
    expect(things.byIndex('value', 'x')).toEqual([]);
  });

  it('an index added after objects arrived covers them; list(namespace) reads the namespace index', () => {
    const things = informer();
    things.observe(thing('a', 'x'));
    things.observe(thing('b', 'x'));
    things.addIndex('late', (t) => [t.metadata.name.toUpperCase()]);
    expect(names(things.byIndex('late', 'B'))).toEqual(['b']);
    expect(names(things.list('ns'))).toEqual(['a', 'b']);
    expect(things.list('other')).toEqual([]);
  });
});
