import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from '../../../src/operator/backoff.js';
import { WorkQueue } from '../../../src/operator/queue.js';
import { waitFor } from '../../support/processes.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('coalesces duplicate keys waiting in the queue', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const queue = new WorkQueue(async (key) => {
      if (key === 'block') await gate.promise;
      seen.push(key);
    }, { concurrency: 1 });
    queue.start();
    queue.add('block');
    for (let i = 0; i < 5; i++) queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.depth).toBe(2);
    gate.resolve();
    await waitFor('queue drained', async () => queue.idle(), { intervalMs: 5 });
    expect(seen).toEqual(['block', 'a', 'b']);
  });

  it('runs one reconcile per key at a time and re-runs a key added while it ran', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    const queue = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate.promise;
      running--;
    }, { concurrency: 4 });
    queue.start();
    queue.add('k');
    await waitFor('first run started', async () => runs === 1, { intervalMs: 5 });
    queue.add('k');
    queue.add('k');
    gate.resolve();
    await waitFor('second run done', async () => runs === 2 && queue.idle(), { intervalMs: 5 });
    expect(maxRunning).toBe(1);
  });

  it('bounds concurrency across keys', async () => {
    let running = 0;
    let maxRunning = 0;
    const gate = deferred();
    const queue = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
    }, { concurrency: 3 });
    queue.start();
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await waitFor('three running', async () => running === 3, { intervalMs: 5 });
    expect(queue.inFlight).toBe(3);
    expect(queue.depth).toBe(7);
    gate.resolve();
    await waitFor('drained', async () => queue.idle(), { intervalMs: 5 });
    expect(maxRunning).toBe(3);
  });

  it('retries a failing key with growing delays and forgets it after a success', async () => {
    const attempts: number[] = [];
    const delays: number[] = [];
    const queue = new WorkQueue(async () => {
      attempts.push(Date.now());
      if (attempts.length < 4) throw new Error('boom');
    }, { retry: { initialMs: 5, maxMs: 1000 }, observer: { retry: (_k, _e, delay) => delays.push(delay) } });
    queue.start();
    queue.add('k');
    await waitFor('fourth attempt succeeded', async () => attempts.length === 4 && queue.idle(), { intervalMs: 5 });
    expect(delays).toEqual([5, 10, 20]);
    expect(queue.retrying).toBe(0);
  });

  it('requeues after the delay a reconcile asks for', async () => {
    let runs = 0;
    const queue = new WorkQueue(async () => {
      runs++;
      return runs === 1 ? { requeueAfterMs: 20 } : undefined;
    });
    queue.start();
    queue.add('k');
    await waitFor('requeued run', async () => runs === 2, { intervalMs: 5 });
  });

  it('shutdown waits for reconciles in flight and starts no new ones', async () => {
    const gate = deferred();
    let finished = 0;
    const queue = new WorkQueue(async () => {
      await gate.promise;
      finished++;
    }, { concurrency: 1 });
    queue.start();
    queue.add('a');
    queue.add('b');
    const stopped = queue.shutdown(2_000);
    gate.resolve();
    await stopped;
    expect(finished).toBe(1);
  });
});

describe('backoffDelay', () => {
  it.each([
    { attempt: 0, expected: 5 },
    { attempt: 1, expected: 10 },
    { attempt: 10, expected: 5120 },
    { attempt: 30, expected: 300_000 },
  ])('attempt $attempt → $expected ms', ({ attempt, expected }) => {
    expect(backoffDelay(attempt, { initialMs: 5, maxMs: 300_000 })).toBe(expected);
  });

  it.each([
    { random: 0, expected: 375 },
    { random: 0.5, expected: 500 },
    { random: 1, expected: 625 },
  ])('±25 % jitter with random $random → $expected', ({ random, expected }) => {
    expect(backoffDelay(0, { initialMs: 500, maxMs: 15_000, jitter: 0.25 }, () => random)).toBe(expected);
  });

  it('never passes the cap, jitter included', () => {
    expect(backoffDelay(20, { initialMs: 500, maxMs: 15_000, jitter: 0.25 }, () => 1)).toBe(15_000);
  });
});
