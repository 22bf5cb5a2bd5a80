/**
 * The learning-rate range test: the swept rates and the smoothed curve against fastai's
 * definitions recomputed here, the suggestion rules on designed curves, the suggestion on a
 * problem whose good rate is known in closed form, exact restoration of the model, divergence
 * handling and option validation.
 */
import {
  Model,
  NodetrainError,
  Tensor,
  adam,
  dense,
  exponential,
  findLearningRate,
  minimumSuggestion,
  sequential,
  sgd,
  steepestSuggestion,
  tensor,
  valleySuggestion,
} from '../../../lib';
import type { LrFinderModel, Logs } from '../../../lib';
import { makeRng } from '../../helpers/model';

/**
 * Linear regression on standardized, partly correlated features. For mse on one dense unit with a
 * bias, the Hessian is (2/n) [X 1]ᵀ[X 1]; with centred columns the bias block decouples with
 * eigenvalue 2, so λ_max = max(λ_max((2/n) XᵀX), 2). Gradient descent is stable for lr < 2/λ_max
 * and a good rate is about 1/λ_max.
 */
function regressionProblem(seed: number, n = 512, f = 8): { x: number[][]; y: number[][]; lambdaMax: number } {
  const rng = makeRng(seed);
  const x = Array.from({ length: n }, () => {
    const z = rng.normal();
    return Array.from({ length: f }, (_, j) => (j < 4 ? 0.8 * z : 0) + rng.normal());
  });
  for (let j = 0; j < f; j++) {
    let mean = 0;
    for (const r of x) mean += r[j];
    mean /= n;
    let sd = 0;
    for (const r of x) sd += (r[j] - mean) ** 2;
    sd = Math.sqrt(sd / n);
    for (const r of x) r[j] = Math.fround((r[j] - mean) / sd);
  }
  const w = Array.from({ length: f }, () => rng.normal());
  const y = x.map((r) => [Math.fround(r.reduce((a, xi, j) => a + xi * w[j], 0) + 0.1 * rng.normal())]);
  // Power iteration on (2/n) XᵀX in float64 (symmetric positive semi-definite).
  const h = Array.from({ length: f }, (_, i) => Array.from({ length: f }, (_, j) => (2 / n) * x.reduce((a, r) => a + r[i] * r[j], 0)));
  let vec = new Array<number>(f).fill(1);
  let lam = 0;
  for (let it = 0; it < 1000; it++) {
    const hv = h.map((row) => row.reduce((a, c, j) => a + c * vec[j], 0));
    lam = Math.sqrt(hv.reduce((a, b) => a + b * b, 0));
    vec = hv.map((t) => t / lam);
  }
  return { x, y, lambdaMax: Math.max(lam, 2) };
}

function regressionModel(lr = 0.01): Model {
  const m = sequential([dense({ units: 1, inputShape: [8] })], { seed: 3 });
  m.compile({ optimizer: sgd({ lr }), loss: 'meanSquaredError' });
  return m;
}

/** A pass-through view of a model that records what trainOnBatch reported. */
function spy(m: Model, hook?: (step: number) => void): { model: LrFinderModel; reported: Logs[]; setLrCalls: unknown[] } {
  const reported: Logs[] = [];
  const setLrCalls: unknown[] = [];
  const model: LrFinderModel = {
    get compileConfig() {
      return m.compileConfig;
    },
    trainOnBatch: async (x, y) => {
      hook?.(reported.length);
      const r = await m.trainOnBatch(x, y);
      reported.push(r);
      return r;
    },
    setLearningRate: (lr) => {
      setLrCalls.push(lr);
      m.setLearningRate(lr);
    },
    setLrMultiplier: (k) => m.setLrMultiplier(k),
    getWeightArena: () => m.getWeightArena(),
    setWeightArena: (w) => m.setWeightArena(w),
    getOptimizerState: () => m.getOptimizerState(),
    setOptimizerState: (s) => m.setOptimizerState(s),
  };
  return { model, reported, setLrCalls };
}

function expectSameArray(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
}

describe('findLearningRate: suggestion on a problem with a known good rate', () => {
  const p = regressionProblem(7);
  const good = 1 / p.lambdaMax;
  const lrMax = 2 / p.lambdaMax;

  test("fastai's defaults: 'minimum' within a factor of 3 of 1/λ_max, every rule below the stability limit", async () => {
    const x = tensor(p.x);
    const y = tensor(p.y);
    try {
      const r = await findLearningRate(regressionModel(), { x, y }, { seed: 1 });
      const { valley, steepest, minimum } = r.suggestions;
      console.log(`λ_max ${p.lambdaMax.toFixed(4)}: 1/λ_max ${good.toPrecision(4)}, 2/λ_max ${lrMax.toPrecision(4)}; ` +
        `defaults -> minimum ${minimum.toPrecision(4)} (x${(minimum / good).toFixed(3)}), valley ${valley.toPrecision(4)} (x${(valley / good).toFixed(3)}), ` +
        `steepest ${steepest.toPrecision(4)}; stopped after ${r.lrs.length} steps at lr ${r.lrs[r.lrs.length - 1].toPrecision(3)}`);
      expect(minimum / good).toBeGreaterThan(1 / 3);
      expect(minimum / good).toBeLessThan(3);
      for (const s of [valley, steepest, minimum]) {
        expect(s).toBeGreaterThanOrEqual(1e-7);
        expect(s).toBeLessThan(lrMax);
      }
      expect(r.suggested).toBe(valley);
      // The sweep ran into divergence past the stability limit and stopped there.
      expect(r.diverged).toBe(true);
      expect(r.lrs.length).toBeLessThan(100);
      expect(r.lrs[r.lrs.length - 1]).toBeGreaterThan(lrMax);
    } finally {
      x.dispose();
      y.dispose();
    }
  });

  test("'valley' within a factor of 3 of 1/λ_max when the sweep starts two decades below it", async () => {
    const x = tensor(p.x);
    const y = tensor(p.y);
    try {
      const r = await findLearningRate(regressionModel(), { x, y }, { seed: 1, startLr: 1e-2 });
      console.log(`startLr 1e-2 -> valley ${r.suggestions.valley.toPrecision(4)} (x${(r.suggestions.valley / good).toFixed(3)} of 1/λ_max), ` +
        `minimum ${r.suggestions.minimum.toPrecision(4)}, steepest ${r.suggestions.steepest.toPrecision(4)}`);
      expect(r.suggested / good).toBeGreaterThan(1 / 3);
      expect(r.suggested / good).toBeLessThan(3);
      expect(r.suggested).toBe(r.suggestions.valley);
      const steep = await findLearningRate(regressionModel(), { x, y }, { seed: 1, startLr: 1e-2, rule: 'steepest' });
      expect(steep.suggested).toBe(steep.suggestions.steepest);
      expect(steep.suggestions).toEqual(r.suggestions);
    } finally {
      x.dispose();
      y.dispose();
    }
  });
});

describe('findLearningRate: the curve', () => {
  test('rates are the exact exponential sweep the optimizer used; losses are the bias-corrected EMA; it stops at 4x the best', async () => {
    const p = regressionProblem(11);
    const m = regressionModel();
    const s = spy(m);
    const N = 80;
    const r = await findLearningRate(s.model, { x: p.x, y: p.y }, { numIterations: N, startLr: 1e-5, endLr: 100, batchSize: 16, seed: 4 });
    const k = r.lrs.length;
    expect(r.losses.length).toBe(k);
    expect(r.rawLosses.length).toBe(k);
    expect(s.reported.length).toBe(k);
    for (let i = 0; i < k; i++) {
      // The rate the native step reports is the swept value itself (multiplier 1).
      expect(s.reported[i].lr).toBe(r.lrs[i]);
      expect(s.reported[i].loss).toBe(r.rawLosses[i]);
      const want = 1e-5 * (100 / 1e-5) ** (i / N);
      expect(Math.abs(r.lrs[i] - want) / want).toBeLessThan(1e-12);
    }
    let avg = 0;
    let best = Infinity;
    for (let i = 0; i < k; i++) {
      avg = 0.98 * avg + 0.02 * r.rawLosses[i];
      const smooth = avg / (1 - 0.98 ** (i + 1));
      expect(Math.abs(r.losses[i] - smooth)).toBeLessThanOrEqual(1e-12 * Math.abs(smooth));
      if (i < k - 1) expect(r.losses[i]).toBeLessThanOrEqual(4 * Math.min(best, r.losses[i]));
      best = Math.min(best, r.losses[i]);
    }
    expect(r.diverged).toBe(true);
    expect(k).toBeLessThan(N);
    expect(r.losses[k - 1]).toBeGreaterThan(4 * Math.min(...r.losses.slice(0, k - 1)));
    // The last setLearningRate call restores the compiled rate.
    expect(s.setLrCalls[s.setLrCalls.length - 1]).toBe(0.01);
  });

  test('stopOnDivergence false runs every iteration until the loss is non-finite; a higher threshold runs longer', async () => {
    const p = regressionProblem(5);
    const a = await findLearningRate(regressionModel(), { x: p.x, y: p.y }, { numIterations: 60, startLr: 1e-3, endLr: 10, seed: 2 });
    const b = await findLearningRate(regressionModel(), { x: p.x, y: p.y }, { numIterations: 60, startLr: 1e-3, endLr: 10, seed: 2, divergeThreshold: 1e6 });
    const c = await findLearningRate(regressionModel(), { x: p.x, y: p.y }, { numIterations: 60, startLr: 1e-3, endLr: 10, seed: 2, stopOnDivergence: false });
    expect(a.diverged).toBe(true);
    expect(b.lrs.length).toBeGreaterThan(a.lrs.length);
    expect(c.lrs.length).toBe(60);
    expect(c.diverged).toBe(false);
    // Same seed: the common prefix of the three sweeps is the same computation.
    expect(b.rawLosses.slice(0, a.lrs.length)).toEqual(a.rawLosses);
    expect(c.rawLosses.slice(0, a.lrs.length)).toEqual(a.rawLosses);
  });
});

describe('findLearningRate: the model is restored exactly', () => {
  function pair(): { a: Model; b: Model } {
    const make = (): Model => {
      const m = sequential([dense({ units: 7, activation: 'tanh', inputShape: [5] }), dense({ units: 3, activation: 'softmax' })], { seed: 21 });
      m.compile({ optimizer: adam({ lr: 3e-3, amsgrad: true }), loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    return { a: make(), b: make() };
  }
  const rng = makeRng(3);
  const x = Array.from({ length: 97 }, () => Array.from({ length: 5 }, () => Math.fround(rng.normal())));
  const y = x.map((r) => (r[0] + r[1] > 0.5 ? 2 : r[2] > 0 ? 1 : 0));

  test('weights, optimizer moments, step count and rate are bit-identical; training continues identically', async () => {
    const { a, b } = pair();
    for (let i = 0; i < 3; i++) {
      await a.trainOnBatch(x.slice(i * 20, i * 20 + 20), y.slice(i * 20, i * 20 + 20));
      await b.trainOnBatch(x.slice(i * 20, i * 20 + 20), y.slice(i * 20, i * 20 + 20));
    }
    const w0 = a.getWeightArena();
    const s0 = a.getOptimizerState();
    const r = await findLearningRate(a, { x, y }, { numIterations: 30, batchSize: 13, seed: 9 });
    expect(r.lrs.length).toBeGreaterThan(5);
    expectSameArray(a.getWeightArena(), w0);
    const s1 = a.getOptimizerState();
    expect(s1.step).toBe(3);
    expect(a.optimizerStep).toBe(3);
    expectSameArray(s1.m, s0.m);
    expectSameArray(s1.v, s0.v);
    expectSameArray(s1.vmax, s0.vmax);
    // The untouched twin and the swept model take the same next step at the same rate.
    const la = await a.trainOnBatch(x.slice(60, 90), y.slice(60, 90));
    const lb = await b.trainOnBatch(x.slice(60, 90), y.slice(60, 90));
    expect(la.lr).toBe(3e-3);
    expect(la).toEqual(lb);
    expectSameArray(a.getWeightArena(), b.getWeightArena());
    expectSameArray(a.getOptimizerState().m, b.getOptimizerState().m);
  });

  test('a fresh model (step 0) is restored to step 0 and its first step matches an untouched twin', async () => {
    const { a, b } = pair();
    await findLearningRate(a, { x, y }, { numIterations: 10, seed: 1 });
    expect(a.optimizerStep).toBe(0);
    expect(await a.trainOnBatch(x, y)).toEqual(await b.trainOnBatch(x, y));
    expectSameArray(a.getWeightArena(), b.getWeightArena());
  });

  test('ERR_NT_NON_FINITE mid-sweep ends the sweep as a divergence and still restores', async () => {
    const { a } = pair();
    const w0 = a.getWeightArena();
    const s = spy(a, (step) => {
      if (step === 7) throw new NodetrainError('ERR_NT_NON_FINITE', 'The loss is not finite');
    });
    const r = await findLearningRate(s.model, { x, y }, { numIterations: 20, seed: 1 });
    expect(r.diverged).toBe(true);
    expect(r.lrs.length).toBe(7);
    expect(Number.isFinite(r.suggested)).toBe(true);
    expectSameArray(a.getWeightArena(), w0);
    expect(a.optimizerStep).toBe(0);
  });

  test('a real blow-up (rates up to 1e30, no divergence stop) ends at the first non-finite loss and restores', async () => {
    const p = regressionProblem(2);
    const m = regressionModel();
    const w0 = m.getWeightArena();
    const r = await findLearningRate(m, { x: p.x, y: p.y }, { numIterations: 200, startLr: 1e-3, endLr: 1e30, stopOnDivergence: false, seed: 1 });
    expect(r.diverged).toBe(true);
    expect(r.lrs.length).toBeLessThan(200);
    for (const s of Object.values(r.suggestions)) expect(Number.isFinite(s)).toBe(true);
    expectSameArray(m.getWeightArena(), w0);
    expect(m.optimizerStep).toBe(0);
    expect((await m.trainOnBatch(p.x.slice(0, 8), p.y.slice(0, 8))).lr).toBe(0.01);
  });

  test('any other training error propagates after restoring', async () => {
    const { a } = pair();
    const w0 = a.getWeightArena();
    const s = spy(a, (step) => {
      if (step === 3) throw new Error('disk on fire');
    });
    await expect(findLearningRate(s.model, { x, y }, { numIterations: 20, seed: 1 })).rejects.toThrow('disk on fire');
    expectSameArray(a.getWeightArena(), w0);
    expect(a.optimizerStep).toBe(0);
    expect(s.setLrCalls[s.setLrCalls.length - 1]).toBe(3e-3);
  });

  test("a model's own rate setting (schedule) and multiplier, when it exposes them, are put back", async () => {
    const p = regressionProblem(4);
    const m = regressionModel();
    const schedule = exponential(0.02, { gamma: 0.9 });
    m.setLearningRate(schedule);
    m.setLrMultiplier(0.5);
    let current = 0.5;
    const s = spy(m);
    const model: LrFinderModel = Object.create(s.model, {
      learningRate: { get: () => schedule },
      lrMultiplier: { get: () => current },
      setLrMultiplier: { value: (k: number) => ((current = k), m.setLrMultiplier(k)) },
    });
    const r = await findLearningRate(model, { x: p.x, y: p.y }, { numIterations: 20, seed: 1 });
    expect(s.reported.map((l) => l.lr)).toEqual(r.lrs); // multiplier 1 during the sweep
    expect(s.setLrCalls[s.setLrCalls.length - 1]).toBe(schedule);
    expect(current).toBe(0.5);
    // Step 0 of the schedule is 0.02; times the restored multiplier.
    expect((await m.trainOnBatch(p.x.slice(0, 4), p.y.slice(0, 4))).lr).toBe(0.02 * 0.5);
  });

  test('works from a Dataset-like {x, y} of tensors and leaves the caller tensors alive', async () => {
    const { a } = pair();
    const tx = tensor(x);
    const ty = tensor(Int32Array.from(y), [y.length], 'int32');
    try {
      const r = await findLearningRate(a, { x: tx, y: ty }, { numIterations: 12, batchSize: 200, seed: 1 });
      expect(r.lrs.length).toBeGreaterThan(0);
      expect(tx.disposed || ty.disposed).toBe(false);
    } finally {
      tx.dispose();
      ty.dispose();
    }
  });
});

describe('suggestion rules (fastai valley, steep, minimum)', () => {
  const lrsOf = (n: number): number[] => Array.from({ length: n }, (_, i) => 1e-4 * 10 ** (i / 4));

  test('valley: the midpoint of the longest decreasing run (fastai indexing)', () => {
    // Four equal points, a strictly decreasing run of 10 from index 4, then a rise. The longest
    // decreasing subsequence has 11 points (one of the 3s, then the run) ending at index 13, so
    // fastai's max_start = 13 - 11 = 2, sections = 11/3 and idx = 2 + 3 + 1 = 6.
    const losses = [3, 3, 3, 3, ...Array.from({ length: 10 }, (_, i) => 2.9 - 0.2 * i), 5, 6, 7];
    const lrs = lrsOf(losses.length);
    expect(valleySuggestion(lrs, losses)).toBe(lrs[6]);
    // Shift the run later by adding flat points in front: the suggestion moves with it.
    const later = [3, 3, ...losses];
    expect(valleySuggestion(lrsOf(later.length), later)).toBe(lrsOf(later.length)[8]);
  });

  test('valley keeps fastai quirks: no decrease -> first point; a 2-point valley at the start -> last point (Python index -1)', () => {
    const lrs = lrsOf(4);
    expect(valleySuggestion(lrs, [1, 2, 3, 4])).toBe(lrs[0]);
    expect(valleySuggestion(lrs, [2, 1, 3, 4])).toBe(lrs[3]);
    expect(valleySuggestion([], [])).toBeNaN();
  });

  test('steepest: left end of the segment with the most negative slope in log lr', () => {
    const lrs = lrsOf(8);
    const losses = [5, 4.9, 4.7, 4.0, 3.9, 3.0, 2.95, 6];
    // Slopes are proportional to the differences (uniform log spacing): the most negative is 3.9 -> 3.0.
    expect(steepestSuggestion(lrs, losses)).toBe(lrs[4]);
    // Non-uniform spacing: a smaller drop over a much shorter log interval is steeper.
    const lrs2 = [1e-3, 1e-2, 1.1e-2, 1e-1];
    expect(steepestSuggestion(lrs2, [5, 3, 2.9, 2])).toBe(lrs2[1]);
    expect(steepestSuggestion([1], [1])).toBeNaN();
  });

  test('minimum: a tenth of the rate with the lowest loss (first on ties)', () => {
    const lrs = lrsOf(6);
    expect(minimumSuggestion(lrs, [4, 3, 1, 1, 2, 9])).toBe(lrs[2] / 10);
    expect(minimumSuggestion([], [])).toBeNaN();
  });
});

describe('findLearningRate: validation', () => {
  const m = regressionModel();
  const data = { x: [[1, 2, 3, 4, 5, 6, 7, 8]], y: [[1]] };
  const cases: [string, Record<string, unknown>, string, typeof TypeError | typeof RangeError][] = [
    ['startLr 0', { startLr: 0 }, 'Expected a number > 0 for startLr but received 0', RangeError],
    ['startLr string', { startLr: '1e-3' }, 'Expected a number for startLr but received "1e-3"', TypeError],
    ['endLr negative', { endLr: -1 }, 'Expected a number > 0 for endLr but received -1', RangeError],
    ['endLr infinite', { endLr: Infinity }, 'Expected a finite number for endLr but received Infinity', RangeError],
    ['startLr >= endLr', { startLr: 0.1, endLr: 0.01 }, 'Expected a number > startLr (0.1) for endLr but received 0.01', RangeError],
    ['startLr == endLr', { startLr: 1, endLr: 1 }, 'Expected a number > startLr (1) for endLr but received 1', RangeError],
    ['numIterations 4', { numIterations: 4 }, 'Expected an integer in [5, 1000000] for numIterations but received 4', RangeError],
    ['numIterations 10.5', { numIterations: 10.5 }, 'Expected an integer for numIterations but received 10.5', RangeError],
    ['batchSize 0', { batchSize: 0 }, 'Expected an integer in [1, 1048576] for batchSize but received 0', RangeError],
    ['divergeThreshold 1', { divergeThreshold: 1 }, 'Expected a number > 1 for divergeThreshold but received 1', RangeError],
    ['smoothing 1', { smoothing: 1 }, 'Expected a number >= 0 and < 1 for smoothing but received 1', RangeError],
    ['rule', { rule: 'slide' }, "Expected one of 'valley', 'steepest', 'minimum' for rule but received \"slide\"", RangeError],
    ['stopOnDivergence', { stopOnDivergence: 1 }, 'Expected a boolean for stopOnDivergence but received 1', TypeError],
    ['seed', { seed: -1 }, 'Expected an integer in [0, 4503599627370496] for seed but received -1', RangeError],
    ['unknown key', { lr: 1 }, "Expected only the options 'startLr', 'endLr', 'numIterations', 'batchSize', 'seed', 'divergeThreshold', 'stopOnDivergence', 'smoothing', 'rule' for findLearningRate options but received an option 'lr'", RangeError],
  ];
  test.each(cases)('%s', async (_name, opts, msg, cls) => {
    const w0 = m.getWeightArena();
    const p = findLearningRate(m, data, opts);
    await expect(p).rejects.toThrow(cls);
    await expect(p).rejects.toThrow(msg);
    expect(m.optimizerStep).toBe(0);
    expectSameArray(m.getWeightArena(), w0);
  });

  test('model and data', async () => {
    await expect(findLearningRate(null as unknown as Model, data)).rejects.toThrow('Expected a compiled Model for model but received null');
    const raw = sequential([dense({ units: 1, inputShape: [8] })], { seed: 1 });
    const e = await findLearningRate(raw, data).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NodetrainError);
    expect((e as NodetrainError).code).toBe('ERR_NT_NOT_COMPILED');
    await expect(findLearningRate(m, [[1]] as unknown as { x: number[][]; y: number[] })).rejects.toThrow('Expected a Dataset or an object {x, y} for data but received an array of length 1');
    await expect(findLearningRate(m, { x: [], y: [] })).rejects.toThrow('Expected at least one sample for data.x but received an array of length 0');
    await expect(findLearningRate(m, { x: [[1, 2, 3, 4, 5, 6, 7, 8]], y: [[1], [2]] })).rejects.toThrow('Expected targets for 1 samples (one per row of x) for data.y but received an array of length 2');
    const t = tensor([1, 2, 3]);
    await expect(findLearningRate(m, { x: t as unknown as Tensor, y: [[1]] })).rejects.toThrow('Expected a Tensor of shape [n, features] for data.x but received a Tensor of shape [3]');
    t.dispose();
  });
});
