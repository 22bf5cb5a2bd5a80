/**
 * Strategies on the synthetic benchmark (test/nas/fixtures/nasbench.js): TPE and regularized
 * evolution beat random search on average over seeds at the same trial count; ASHA spends fewer
 * epochs than no pruning for a similar result; parallel suggestions never collide; serial and
 * parallel runs make the same trials; multi-objective studies return a Pareto front.
 */
import * as nas from '../../lib/nas';
import type { Trial } from '../../lib/nas';
import * as bench from './fixtures/nasbench';

const SPACE = () => nas.space(bench.spaceSpec(nas));
const ACC = { name: 'accuracy', direction: 'maximize' as const };

async function run(sampler: nas.Sampler, seed: number, trials: number, pruner?: nas.Pruner, counter?: { epochs: number }) {
  const study = await nas.createStudy({ space: SPACE(), objectives: ACC, sampler, pruner, seed, objective: bench.makeObjective({ epochs: 9, counter }) });
  return study.optimize({ trials });
}

/** True (noise-free) accuracy of the best trial found. */
const bestTrue = (r: nas.OptimizeResult): number => bench.trueAccuracy(r.best!.params);

describe('samplers on the synthetic benchmark', () => {
  const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
  const TRIALS = 60;
  let randomMean = 0;
  beforeAll(async () => {
    let s = 0;
    for (const seed of SEEDS) s += bestTrue(await run(nas.randomSampler(), seed, TRIALS));
    randomMean = s / SEEDS.length;
  });

  test('TPE finds better architectures than random search within the same number of trials', async () => {
    let s = 0;
    for (const seed of SEEDS) s += bestTrue(await run(nas.tpeSampler(), seed, TRIALS));
    const tpe = s / SEEDS.length;
    expect(tpe).toBeGreaterThan(randomMean + 0.005);
  });

  test('regularized evolution finds better architectures than random search within the same number of trials', async () => {
    let s = 0;
    for (const seed of SEEDS) s += bestTrue(await run(nas.evolutionSampler({ populationSize: 15, sampleSize: 5 }), seed, TRIALS));
    const evo = s / SEEDS.length;
    expect(evo).toBeGreaterThan(randomMean + 0.005);
  });

  test('the same seed gives the same study; another seed a different one', async () => {
    const a = await run(nas.tpeSampler(), 11, 25);
    const b = await run(nas.tpeSampler(), 11, 25);
    const c = await run(nas.tpeSampler(), 12, 25);
    const sig = (r: nas.OptimizeResult) => r.trials.map((t) => [t.params, t.values]);
    expect(sig(a)).toEqual(sig(b));
    expect(sig(a)).not.toEqual(sig(c));
  });
});

describe('TPE details', () => {
  test("Optuna's default gamma and weights", () => {
    expect([0, 1, 10, 11, 100, 250, 1000].map(nas.defaultGamma)).toEqual([0, 1, 1, 2, 10, 25, 25]);
    expect(nas.defaultWeights(3)).toEqual([1, 1, 1]);
    const w = nas.defaultWeights(30);
    expect(w).toHaveLength(30);
    expect(w[0]).toBeCloseTo(1 / 30, 12);
    expect(w[4]).toBeCloseTo(1, 12);
    expect(w.slice(5).every((x) => x === 1)).toBe(true);
  });

  test('concentrates on the good region of a 1-D problem after the startup trials', async () => {
    const study = await nas.createStudy({ space: { x: nas.float(-10, 10) }, sampler: nas.tpeSampler(), objective: (t) => ((t.params.x as number) - 3) ** 2, seed: 5 });
    const r = await study.optimize({ trials: 60 });
    const late = r.trials.slice(40).map((t) => t.params.x as number);
    const near = late.filter((x) => Math.abs(x - 3) < 2).length;
    expect(near).toBeGreaterThan(late.length / 2);
    expect(Math.abs((r.best!.params.x as number) - 3)).toBeLessThan(0.5);
  });
});

describe('parallel suggestions', () => {
  test.each([
    ['tpe', () => nas.tpeSampler()],
    ['evolution', () => nas.evolutionSampler({ populationSize: 10, sampleSize: 3 })],
    ['random', () => nas.randomSampler()],
  ])('%s: many suggestions at once never collide (small discrete space, constant liar)', async (_n, make) => {
    // 4 * 3 * 2 = 24 configurations; 12 startup trials, then 12 asked for at once while all run.
    const s = nas.space({ a: nas.int(0, 3), b: nas.choice(['x', 'y', 'z']), c: nas.bool() });
    const study = await nas.createStudy({ space: s, sampler: make(), seed: 9, objective: (t) => (t.params.a as number) + (t.params.c ? 0.5 : 0) });
    await study.optimize({ trials: 12 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const slow = async (t: nas.TrialContext) => {
      if (++started === 12) release();
      await gate;
      return (t.params.a as number) + (t.params.c ? 0.5 : 0);
    };
    await study.optimize({ trials: 24, executor: nas.inlineExecutor(slow, { concurrency: 12 }) });
    const keys = study.trials.map((t) => s.key(t.params));
    expect(keys).toHaveLength(24);
    expect(new Set(keys).size).toBe(24);
  });

  test('TPE without the study-level repeat check: the constant liar alone spreads concurrent suggestions', async () => {
    const s = nas.space({ x: nas.float(0, 1) });
    const sampler = nas.tpeSampler({ nStartupTrials: 0 });
    const trials: Trial[] = [];
    const mk = (number: number, x: number, state: Trial['state'], v?: number): Trial => ({ number, params: { x }, seed: 0, state, attempt: 1, values: v === undefined ? undefined : [v], intermediate: new Map(), startedAt: 0, lastHeartbeat: 0, steps: 0 });
    for (let i = 0; i < 20; i++) trials.push(mk(i, i / 20, 'complete', Math.abs(i / 20 - 0.5)));
    const rng = () => require('../../lib').createRng(7);
    const first = (await sampler.suggest({ space: s, number: 20, rng: rng(), trials, directions: ['minimize'] })).x as number;
    const withLiar = (await sampler.suggest({ space: s, number: 21, rng: rng(), trials: [...trials, mk(20, first, 'running')], directions: ['minimize'] })).x as number;
    const noLiar = (await nas.tpeSampler({ nStartupTrials: 0, constantLiar: false }).suggest({ space: s, number: 21, rng: rng(), trials: [...trials, mk(20, first, 'running')], directions: ['minimize'] })).x as number;
    expect(noLiar).toBe(first); // same stream, same model: Optuna's collision
    expect(withLiar).not.toBe(first);
  });

  test('a serial run with parallelism 2 and a run with 2 concurrent trials make the same trials', async () => {
    const mk = async () => nas.createStudy({ space: SPACE(), objectives: ACC, sampler: nas.tpeSampler({ nStartupTrials: 6 }), pruner: nas.ashaPruner(), seed: 21 });
    const serial = await mk();
    await serial.optimize({ trials: 30, executor: nas.inlineExecutor(bench.makeObjective({ epochs: 9 })), parallelism: 2 });
    const parallel = await mk();
    // Trials of uneven length so that completion order differs from creation order.
    const jitter = bench.makeObjective({ epochs: 9, delayMs: 1 });
    const uneven = async (t: nas.TrialContext) => {
      if (t.number % 3 === 0) await new Promise((r) => setTimeout(r, 15));
      return jitter(t);
    };
    await parallel.optimize({ trials: 30, executor: nas.inlineExecutor(uneven, { concurrency: 2 }) });
    const sig = (s: nas.Study) => s.trials.map((t) => JSON.stringify([t.number, t.params, t.state, t.values, [...t.intermediate]]));
    expect(sig(parallel)).toEqual(sig(serial));
    expect(serial.trials.some((t) => t.state === 'pruned')).toBe(true);
  });
});

describe('pruners', () => {
  test('ASHA uses fewer epochs than no pruning for a similar result', async () => {
    let plain = 0;
    let asha = 0;
    let plainBest = 0;
    let ashaBest = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const c1 = { epochs: 0 };
      plainBest += bestTrue(await run(nas.randomSampler(), seed, 40, undefined, c1));
      const c2 = { epochs: 0 };
      ashaBest += bestTrue(await run(nas.randomSampler(), seed, 40, nas.ashaPruner({ reductionFactor: 3 }), c2));
      plain += c1.epochs;
      asha += c2.epochs;
    }
    expect(plain).toBe(6 * 40 * 9);
    expect(asha).toBeLessThan(plain * 0.6);
    expect(ashaBest / 6).toBeGreaterThan(plainBest / 6 - 0.01);
  });

  test('ASHA promotion rule: top 1/eta of the values at a rung (the best only while fewer than eta)', () => {
    const p = nas.ashaPruner({ reductionFactor: 3 });
    const mk = (number: number, vals: Record<number, number>): Trial => ({ number, params: {}, seed: 0, state: 'complete', attempt: 1, intermediate: new Map(Object.entries(vals).map(([k, v]) => [Number(k), v])), startedAt: 0, lastHeartbeat: 0, steps: 0 });
    const others = [mk(0, { 1: 0.5 }), mk(1, { 1: 0.7 }), mk(2, { 1: 0.6 }), mk(3, { 1: 0.4 }), mk(4, { 1: 0.3 })];
    // 6 values at rung 1 -> top 2 promoted: 0.7 and 0.65.
    expect(p.shouldPrune({ trial: mk(9, { 1: 0.65 }), step: 1, others, direction: 'maximize' })).toBe(false);
    expect(p.shouldPrune({ trial: mk(9, { 1: 0.55 }), step: 1, others, direction: 'maximize' })).toBe(true);
    expect(p.shouldPrune({ trial: mk(9, { 1: 0.55, 2: 0.1 }), step: 2, others, direction: 'maximize' })).toBe(false); // between rungs
    expect(p.shouldPrune({ trial: mk(9, { 1: 0.2 }), step: 1, others: others.slice(0, 1), direction: 'maximize' })).toBe(true);
    expect(p.shouldPrune({ trial: mk(9, { 1: 0.2 }), step: 1, others: others.slice(0, 1), direction: 'minimize' })).toBe(false);
    // At its full budget a trial completes instead of being pruned.
    expect(p.shouldPrune({ trial: mk(9, { 1: 0.55 }), step: 1, others, direction: 'maximize', maxSteps: 1 })).toBe(false);
  });

  test('median pruner stops trials below the median of complete trials at the same step', () => {
    const p = nas.medianPruner({ nStartupTrials: 3 });
    const mk = (number: number, v: number, state: Trial['state'] = 'complete'): Trial => ({ number, params: {}, seed: 0, state, attempt: 1, intermediate: new Map([[2, v]]), startedAt: 0, lastHeartbeat: 0, steps: 2 });
    const others = [mk(0, 0.5), mk(1, 0.6), mk(2, 0.7)];
    expect(p.shouldPrune({ trial: mk(5, 0.55, 'running'), step: 2, others, direction: 'maximize' })).toBe(true);
    expect(p.shouldPrune({ trial: mk(5, 0.65, 'running'), step: 2, others, direction: 'maximize' })).toBe(false);
    expect(p.shouldPrune({ trial: mk(5, 0.1, 'running'), step: 2, others: others.slice(0, 2), direction: 'maximize' })).toBe(false); // startup
    expect(p.shouldPrune({ trial: mk(5, NaN, 'running'), step: 2, others, direction: 'maximize' })).toBe(true);
  });

  test('Hyperband: brackets of successive halving, trials spread by budget, fewer epochs than no pruning', async () => {
    const hb = nas.hyperbandPruner({ maxResource: 9, reductionFactor: 3 });
    expect(hb.brackets.map((b) => b.rungStep(0))).toEqual([1, 3, 9]);
    const counts = [0, 0, 0];
    for (let n = 0; n < 3000; n++) counts[hb.bracketOf(n)]++;
    // budgets ceil(3*9/3)=9, ceil(3*3/2)=5, ceil(3*1/1)=3 -> shares 9/17, 5/17, 3/17.
    expect(counts[0] / 3000).toBeCloseTo(9 / 17, 1);
    expect(counts[2] / 3000).toBeCloseTo(3 / 17, 1);
    const c = { epochs: 0 };
    const r = await run(nas.randomSampler(), 1, 40, hb, c);
    expect(c.epochs).toBeLessThan(40 * 9);
    expect(r.trials.filter((t) => t.state === 'pruned').length).toBeGreaterThan(0);
  });
});

describe('multi-objective', () => {
  test('the Pareto front holds exactly the non-dominated trials; evolution selects with NSGA-II ranks', async () => {
    const objective = async (t: nas.TrialContext) => {
      const acc = bench.finalAccuracy(t.params);
      let params = 0;
      let w = 784;
      for (let i = 1; i <= (t.params.depth as number); i++) {
        params += w * (t.params[`width_${i}`] as number);
        w = t.params[`width_${i}`] as number;
      }
      return { accuracy: acc, params: params + w * 10 };
    };
    const study = await nas.createStudy({ space: SPACE(), objectives: [ACC, { name: 'params', direction: 'minimize' }], sampler: nas.evolutionSampler({ populationSize: 10, sampleSize: 3 }), seed: 4, objective });
    const r = await study.optimize({ trials: 40 });
    const done = r.trials.filter((t) => t.state === 'complete');
    const front = r.paretoFront;
    expect(front.length).toBeGreaterThan(1);
    const dom = (a: Trial, b: Trial) => a.values![0] >= b.values![0] && a.values![1] <= b.values![1] && (a.values![0] > b.values![0] || a.values![1] < b.values![1]);
    for (const f of front) expect(done.some((o) => dom(o, f))).toBe(false);
    for (const t of done) if (!front.includes(t) && !front.some((f) => f.number === t.number)) expect(done.some((o) => dom(o, t))).toBe(true);
    expect(nas.nonDominatedSort([[1, 2], [2, 1], [2, 2], [3, 3]])).toEqual([[0, 1], [2], [3]]);
  });
});
