// Seeded randomness for tests: every random choice comes from one seed, printed when the test fails, so a
// failure can be replayed with TEST_SEED=<seed>.
import { randomInt } from 'node:crypto';

export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/** mulberry32: small, fast and good enough to pick test inputs. */
export function seededRandom(seed = Number(process.env.TEST_SEED ?? randomInt(2 ** 31))): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (n) => Math.floor(next() * n) };
}

/** Runs `body` with a seeded Random; a failure's message ends with the seed and how to replay it. */
export async function withRandom<T>(body: (random: Random) => Promise<T>): Promise<T> {
  const random = seededRandom();
  try {
    return await body(random);
  } catch (err) {
    if (err instanceof Error) err.message += `\n(random seed ${random.seed}; replay with TEST_SEED=${random.seed})`;
    throw err;
  }
}
