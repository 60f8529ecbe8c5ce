import { describe, expect, it } from '@jest/globals';
import { RECEIVED_KEPT_BYTES, trimReceived, withoutBodies, type ReceivedMessage } from '../../../src/reference-control-plane/server.js';

const message = (seq: number, bytes: number): ReceivedMessage => ({ seq, type: 'heartbeat', payload: {}, at: 0, bytes });

/** Pushes messages of these sizes as the control plane records them; returns what is kept and its bytes. */
function record(sizes: number[], count?: number, maxBytes?: number): { kept: ReceivedMessage[]; bytes: number } {
  const kept: ReceivedMessage[] = [];
  let bytes = 0;
  sizes.forEach((size, seq) => {
    kept.push(message(seq, size));
    bytes = trimReceived(kept, bytes + size, count, maxBytes);
  });
  return { kept, bytes };
}

describe('trimReceived', () => {
  it('keeps the newest messages by count, trimmed in steps', () => {
    const { kept, bytes } = record(Array.from({ length: 120 }, () => 10), 100, 1_000_000);
    expect(kept.length).toBeLessThanOrEqual(110);
    expect(kept.at(-1)?.seq).toBe(119);
    expect(bytes).toBe(kept.length * 10);
  });

  it('keeps them by bytes too, dropping the oldest: a few large frames do not make it hold their sum', () => {
    const { kept, bytes } = record(Array.from({ length: 50 }, () => 1_000), 5_000, 10_000);
    expect(bytes).toBeLessThanOrEqual(10_000);
    expect(bytes).toBe(kept.reduce((sum, m) => sum + m.bytes, 0));
    expect(kept.at(-1)?.seq).toBe(49);
    expect(kept.length).toBeLessThanOrEqual(10);
  });

  it('by default at 32 MiB of frames, well below the count', () => {
    const MiB = 1024 * 1024;
    expect(RECEIVED_KEPT_BYTES).toBe(32 * MiB);
    const { kept, bytes } = record(Array.from({ length: 200 }, () => MiB));
    expect(bytes).toBeLessThanOrEqual(32 * MiB);
    expect(kept.length).toBeLessThanOrEqual(32);
  });

  it('always keeps the newest message, even one past the byte cap', () => {
    const { kept } = record([10, 50_000], 100, 1_000);
    expect(kept.map((m) => m.seq)).toEqual([1]);
  });
});

describe('withoutBodies', () => {
  it.each([
    { type: 'proxy_response', payload: { status: 200, headers: {}, body: Buffer.from('hello').toString('base64') }, want: { status: 200, headers: {}, body_bytes: 5 } },
    { type: 'proxy_response_chunk', payload: { data: Buffer.from('abc') }, want: { data_bytes: 3 } },
    { type: 'proxy_request_chunk', payload: { data: 'AAAA' }, want: { data_bytes: 3 } },
    { type: 'ws_message', payload: { data: 'aGk=', binary: false }, want: { binary: false, data_bytes: 2 } },
    { type: 'heartbeat', payload: { status: 'healthy' }, want: { status: 'healthy' } },
    { type: 'proxy_response_end', payload: {}, want: {} },
  ])('$type', ({ type, payload, want }) => {
    expect(withoutBodies(type, payload)).toEqual(want);
  });
});
