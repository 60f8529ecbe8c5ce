import { describe, expect, it } from '@jest/globals';
import { SourceLimiter } from '../../../src/reference-control-plane/source-limiter.js';

describe('SourceLimiter', () => {
  it('gives each address its own slots, up to the maximum, and each release back once', () => {
    const limiter = new SourceLimiter(2);
    const first = limiter.acquire('10.0.0.1');
    const second = limiter.acquire('10.0.0.1');
    expect(first && second).toBeTruthy();
    expect(limiter.acquire('10.0.0.1')).toBeUndefined();
    expect(limiter.acquire('10.0.0.2')).toBeDefined();
    first!();
    first!(); // close and error may both release: counted once
    expect(limiter.held('10.0.0.1')).toBe(1);
    expect(limiter.acquire('10.0.0.1')).toBeDefined();
    expect(limiter.acquire('10.0.0.1')).toBeUndefined();
  });
});
