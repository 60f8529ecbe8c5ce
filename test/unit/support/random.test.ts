import { describe, expect, it } from '@jest/globals';
import { seededRandom, withRandom } from '../../support/random.js';

describe('seeded test randomness', () => {
  it('replays the same choices for the same seed, and others for another', () => {
    const draw = (seed: number) => Array.from({ length: 8 }, ((r) => () => r.int(1000))(seededRandom(seed)));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const r = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it("names the seed and how to replay it in a failing test's message", async () => {
    let seed = -1;
    const failure = withRandom(async (random) => {
      seed = random.seed;
      throw new Error('boom');
    });
    await expect(failure).rejects.toThrow(/^boom\n\(random seed \d+; replay with TEST_SEED=\d+\)$/);
    expect(seed).toBeGreaterThanOrEqual(0);
  });
});
