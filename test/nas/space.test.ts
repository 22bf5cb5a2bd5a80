/**
 * Search spaces: exact counting of conditional spaces (checked against brute-force enumeration),
 * unrank as a bijection, deterministic sampling, validation messages, and a finite space used up
 * cleanly by a study without repeats.
 */
import { bool, choice, createStudy, float, gridSampler, int, randomSampler, space } from '../../lib/nas';
import { createRng } from '../../lib';

const small = () =>
  space({
    depth: int(1, 3),
    width_1: choice([8, 16], { when: { param: 'depth', gte: 1 } }),
    width_2: choice([8, 16, 32], { when: { param: 'depth', gte: 2 } }),
    width_3: int(4, 12, { step: 4, when: { param: 'depth', gte: 3 } }),
    act: choice(['relu', 'tanh']),
    skip: bool({ when: { param: 'depth', in: [2, 3] } }),
    dropout: float(0, 0.2, { step: 0.1 }),
  });

describe('space', () => {
  test('counts a conditional space exactly (brute force agrees) and unrank enumerates it without repeats', () => {
    const s = small();
    // depth 1: 2*2*3 = 12; depth 2: 2*3*2*2*3 = 72; depth 3: 2*3*3*2*2*3 = 216.
    expect(s.size()).toBe(12 + 72 + 216);
    const keys = new Set<string>();
    for (let i = 0; i < s.size(); i++) {
      const p = s.unrank(i);
      expect(s.validate(p)).toEqual(p);
      keys.add(s.key(p));
    }
    expect(keys.size).toBe(s.size());
    expect(() => s.unrank(s.size())).toThrow(/Expected an integer in \[0, 299\] for index but received 300/);
  });

  test('conditional parameters exist only up to the sampled depth; sampling is deterministic for a seed', () => {
    const s = small();
    const a = Array.from({ length: 50 }, (_, i) => s.sample(createRng(1000 + i)));
    const b = Array.from({ length: 50 }, (_, i) => s.sample(createRng(1000 + i)));
    expect(a).toEqual(b);
    for (const p of a) {
      const d = p.depth as number;
      expect('width_2' in p).toBe(d >= 2);
      expect('width_3' in p).toBe(d >= 3);
      expect('skip' in p).toBe(d >= 2);
    }
    expect(new Set(a.map((p) => p.depth)).size).toBe(3);
  });

  test('log floats stay in range and cover decades; continuous spaces are infinite', () => {
    const s = space({ lr: float(1e-4, 1e-1, { log: true }) });
    const rng = createRng(3);
    const xs = Array.from({ length: 2000 }, () => s.sample(rng).lr as number);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1e-1);
    const below1e3 = xs.filter((x) => x < 1e-3).length / xs.length;
    expect(below1e3).toBeGreaterThan(0.28); // one decade of three
    expect(below1e3).toBeLessThan(0.39);
    expect(s.size()).toBe(Infinity);
  });

  test('rejects bad definitions and bad values with the message template', () => {
    expect(() => int(3, 1)).toThrow(/Expected integers low <= high for int\(low, high\) but received "3, 1"/);
    expect(() => int(0, 10, { step: 3 })).toThrow(/Expected a positive integer step dividing high - low \(10\) for step but received 3/);
    expect(() => float(0, 1, { log: true })).toThrow(/Expected low > 0 with log for low but received 0/);
    expect(() => space({ a: int(0, 1, { when: { param: 'b', gte: 1 } }), b: int(0, 1) })).toThrow(/Expected a parameter declared before 'a' for space.a.when.param but received "b"/);
    const s = small();
    expect(() => s.validate({ depth: 1, width_1: 8, act: 'relu', dropout: 0.1, width_2: 8 })).toThrow(/params.width_2/);
    expect(() => s.validate({ depth: 1, width_1: 9, act: 'relu', dropout: 0.1 })).toThrow(/Expected a value in \{8, 16\} for params.width_1 but received 9/);
  });

  test('hash changes with the definition', () => {
    expect(small().hash()).toBe(small().hash());
    expect(space({ a: int(0, 2) }).hash()).not.toBe(space({ a: int(0, 3) }).hash());
  });

  test.each([
    ['random', () => randomSampler()],
    ['grid', () => gridSampler({ seed: 4 })],
  ])('a finite space is used up by the %s sampler without repeats, then the study ends cleanly', async (_n, make) => {
    const s = space({ a: int(0, 2), b: choice(['x', 'y']), c: bool({ when: { param: 'a', equals: 2 } }) });
    expect(s.size()).toBe(8);
    const study = await createStudy({ space: s, sampler: make(), objective: (t) => (t.params.a as number) + (t.params.c ? 1 : 0), seed: 3 });
    const r = await study.optimize({ trials: 100 });
    expect(r.reason).toBe('exhausted');
    expect(r.trials).toHaveLength(8);
    expect(new Set(r.trials.map((t) => s.key(t.params))).size).toBe(8);
    expect(r.trials.every((t) => t.state === 'complete')).toBe(true);
  });
});
