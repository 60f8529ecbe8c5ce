// The informer lists in pages on the real apiserver: more objects than one page (1,200 ConfigMaps, pages of
// 500) are all cached, each transformed as its page arrives, and the watch that follows from the list's
// resourceVersion misses nothing created or deleted after it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import winston from 'winston';
import { Informer, LIST_PAGE_SIZE, type KubeObject } from '../../src/operator/informer.js';
import { CONFIG_MAP } from '../../src/operator/kinds.js';
import { clients, eventually, TestNamespaces } from '../support/kube.js';

const { kc, core } = clients();
const namespaces = new TestNamespaces();
const COUNT = 1_200;
const LABEL = 'gateway.pipeops.io/paged';
let ns: string;

/** Runs `task` for every item, at most `limit` at a time. */
async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** A logger whose entries the test reads. */
function recordingLogger(): { logger: winston.Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({ objectMode: true, write: (entry: Record<string, unknown>, _encoding, done) => (entries.push(entry), done()) });
  return { logger: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), entries };
}

beforeAll(async () => {
  ns = await namespaces.create('paged');
  const names = Array.from({ length: COUNT }, (_, i) => `cm-${String(i).padStart(4, '0')}`);
  await forEachBounded(names, 16, (name) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { [LABEL]: 'yes' } }, data: { value: name } } }));
}, 120_000);

afterAll(() => namespaces.deleteAll());

describe('Informer list pagination', () => {
  it(`lists ${COUNT} ConfigMaps in pages of ${LIST_PAGE_SIZE}, transformed, then watches from the list's resourceVersion`, async () => {
    const { logger, entries } = recordingLogger();
    const informer = new Informer<KubeObject & { kept?: boolean }>(kc, {
      kind: CONFIG_MAP,
      namespaces: [ns],
      labelSelector: `${LABEL}=yes`,
      logger,
      transform: (object) => ({ apiVersion: object.apiVersion, kind: object.kind, metadata: object.metadata, kept: true }) as KubeObject,
    });
    informer.start();
    try {
      await eventually('the informer synced', async () => informer.hasSynced(), 60_000);
      const cached = informer.list(ns);
      expect(cached.length).toBe(COUNT);
      expect(cached.every((object) => object.kept === true && !('data' in object))).toBe(true);
      expect(entries.find((entry) => entry.message === 'informer listed')).toMatchObject({ objects: COUNT, pages: Math.ceil(COUNT / LIST_PAGE_SIZE) });

      // Created and deleted after the list: the watch from its resourceVersion delivers both.
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-list', labels: { [LABEL]: 'yes' } } } });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'cm-0000' });
      await eventually('the watch delivered the create and the delete', async () => informer.get(`${ns}/after-list`) !== undefined && informer.get(`${ns}/cm-0000`) === undefined);
      expect(informer.list(ns).length).toBe(COUNT);
    } finally {
      informer.stop();
    }
  }, 120_000);
});
