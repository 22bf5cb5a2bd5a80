/**
 * The adaptive learning-rate controllers that live in the native training loop: hypergradient
 * descent (Baydin et al. 2018), the divergence guard, and fit({lr: 'auto'}).
 */
import { Model, adam, dense, loadDigits, sequential, sgd, tensor, Tensor, NodetrainError } from '../../lib';
import type { OptimizerConfig } from '../../lib';

/** Standardised linear-regression data: y = X w* + small noise, 8 features. */
function regression(n: number, seed: number): { x: Tensor; y: Tensor } {
  let s = seed;
  const r = (): number => ((s = (s * 16807) % 2147483647) / 2147483647);
  const gauss = (): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const f = 8;
  const w = Array.from({ length: f }, (_, j) => (j % 2 === 0 ? 1 : -1) * (0.5 + j / 8));
  const x = new Float32Array(n * f);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0.3;
    for (let j = 0; j < f; j++) {
      x[i * f + j] = gauss();
      t += w[j] * x[i * f + j];
    }
    y[i] = t + 0.01 * gauss();
  }
  return { x: tensor(x, [n, f]), y: tensor(y, [n, 1]) };
}

/** Full-batch steps (one per epoch) until the loss first drops below target; Infinity if never. */
async function stepsToReach(opt: OptimizerConfig, target: number, maxSteps: number): Promise<number> {
  const { x, y } = regression(256, 11);
  const m = sequential([dense({ units: 1, inputShape: [8] })], { seed: 5 });
  m.compile({ optimizer: opt, loss: 'mse' });
  let reached = Infinity;
  try {
    const h = await m.fit(x, y, {
      epochs: maxSteps,
      batchSize: 256,
      shuffle: false,
      seed: 1,
      divergenceGuard: false,
      callbacks: [{ onEpochEnd: (e, logs) => { if (logs.loss < target && reached === Infinity) { reached = e + 1; m.stopTraining = true; } } }],
    });
    expect(h.epoch.length).toBeGreaterThan(0);
  } catch (e) {
    expect((e as NodetrainError).code).toBe('ERR_NT_NON_FINITE'); // a fixed rate that is too large diverges
  }
  x.dispose();
  y.dispose();
  return reached;
}

describe('hypergradient descent', () => {
  // For this problem the Hessian of the mse is about 2 I, so a good fixed rate is about 0.3 and
  // rates above about 1 diverge.
  const target = 1e-3;
  const hd = { hyperLr: 0.1, minLr: 1e-5, maxLr: 10 };
  const cases: [string, number, (lr: number, on: boolean) => OptimizerConfig][] = [
    ['SGD', 3e-3, (lr, on) => sgd({ lr, hypergradient: on ? hd : undefined })],
    ['momentum SGD', 3e-4, (lr, on) => sgd({ lr, momentum: 0.9, hypergradient: on ? hd : undefined })],
    ['Adam', 1e-4, (lr, on) => adam({ lr, hypergradient: on ? hd : undefined })],
    ['SGD, additive rule', 3e-3, (lr, on) => sgd({ lr, hypergradient: on ? { hyperLr: 1e-3, minLr: 1e-5, maxLr: 10, rule: 'additive' } : undefined })],
  ];

  it.each(cases)('%s started 100x too small reaches the loss in far fewer steps than the fixed rate', async (_name, small, make) => {
    const fixed = await stepsToReach(make(small, false), target, 3000);
    const adapted = await stepsToReach(make(small, true), target, 3000);
    expect(adapted).toBeLessThan(Infinity);
    expect(adapted * 3).toBeLessThan(fixed);
  });

  it.each([
    ['SGD', (on: boolean) => sgd({ lr: 3, hypergradient: on ? hd : undefined })],
  ] as [string, (on: boolean) => OptimizerConfig][])('%s started 10x too large reaches the loss far sooner than the fixed rate', async (_name, make) => {
    const fixed = await stepsToReach(make(false), target, 600);
    const adapted = await stepsToReach(make(true), target, 600);
    expect(adapted).toBeLessThan(200);
    expect(adapted * 3).toBeLessThan(fixed);
  });

  it('reports the adapted rate through the History and the model', async () => {
    const { x, y } = regression(256, 3);
    const m = sequential([dense({ units: 1, inputShape: [8] })], { seed: 2 });
    m.compile({ optimizer: sgd({ lr: 1e-3, hypergradient: { hyperLr: 0.1, minLr: 1e-4, maxLr: 1 } }), loss: 'mse' });
    const h = await m.fit(x, y, { epochs: 60, batchSize: 256, shuffle: false, seed: 1 });
    expect(h.history.lr[h.history.lr.length - 1]).toBeGreaterThan(1e-2);
    expect(m.hyperMultiplier).toBeGreaterThan(10);
    expect(h.history.lr[h.history.lr.length - 1]).toBeCloseTo(1e-3 * m.hyperMultiplier, 6);
  });

  it('validates its options', () => {
    expect(() => sgd({ hypergradient: { hyperLr: -1 } })).toThrow('Expected a number > 0 for hypergradient.hyperLr but received -1');
    expect(() => adam({ hypergradient: { minLr: 1, maxLr: 0.5 } })).toThrow('Expected a number >= minLr (1) for hypergradient.maxLr but received 0.5');
    expect(() => sgd({ hypergradient: { rate: 1 } as never })).toThrow(RangeError);
    expect(() => sgd({ hypergradient: { rule: 'fast' } as never })).toThrow("Expected one of 'additive', 'multiplicative' for hypergradient.rule but received \"fast\"");
  });
});

describe('divergence guard', () => {
  function small(): { m: Model; x: Tensor; y: Tensor } {
    const { x, y } = regression(200, 7);
    const m = sequential([dense({ units: 4, activation: 'tanh', inputShape: [8] }), dense({ units: 1 })], { seed: 4 });
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'mse' });
    return { m, x, y };
  }

  it('recovers from an injected NaN gradient: restores, halves the rate, continues', async () => {
    const { m, x, y } = small();
    m.injectNonFinite([12]);
    const h = await m.fit(x, y, { epochs: 4, batchSize: 20, seed: 3 });
    expect(h.epoch.length).toBe(4);
    // 10 steps per epoch: the fault hits epoch 2; earlier epochs have no value (NaN) in the History.
    expect(h.history.recoveries.length).toBe(4);
    expect(h.history.recoveries[0]).toBeNaN();
    expect(h.history.recoveries.slice(1)).toEqual([1, 1, 1]);
    expect(h.history.lr[0]).toBeCloseTo(0.01, 10);
    expect(h.history.lr[3]).toBeCloseTo(0.005, 10);
    for (const w of Object.values(m.getWeights())) for (const val of w.data) expect(Number.isFinite(val)).toBe(true);
    expect(h.history.loss[3]).toBeLessThan(h.history.loss[0]);
  });

  it('without the guard the same fault rejects fit with ERR_NT_NON_FINITE, leaving the model usable', async () => {
    const { m, x, y } = small();
    m.injectNonFinite([12]);
    await expect(m.fit(x, y, { epochs: 4, batchSize: 20, seed: 3, divergenceGuard: false })).rejects.toMatchObject({ code: 'ERR_NT_NON_FINITE' });
    for (const w of Object.values(m.getWeights())) for (const val of w.data) expect(Number.isFinite(val)).toBe(true);
    const again = await m.fit(x, y, { epochs: 1, batchSize: 20, seed: 3 });
    expect(Number.isFinite(again.history.loss[0])).toBe(true);
  });

  it('gives up with a clear error after maxRetries recoveries', async () => {
    const { m, x, y } = small();
    m.injectNonFinite([3, 4, 5]);
    let err: NodetrainError | undefined;
    try {
      await m.fit(x, y, { epochs: 2, batchSize: 20, seed: 3, divergenceGuard: { maxRetries: 2 } });
    } catch (e) {
      err = e as NodetrainError;
    }
    expect(err?.code).toBe('ERR_NT_NON_FINITE');
    expect(err?.message).toMatch(/^Training diverged 3 times \(last at epoch \d+, batch \d+, learning rate [\d.e+-]+\); lower the learning rate or clip gradients$/);
  });

  it('catches an exploding (finite) loss and halves the rate until training is stable', async () => {
    const { x, y } = regression(256, 5);
    const m = sequential([dense({ units: 1, inputShape: [8] })], { seed: 1 });
    m.compile({ optimizer: sgd({ lr: 1.5 }), loss: 'mse' }); // just above the stable range: slow blow-up
    const h = await m.fit(x, y, { epochs: 30, batchSize: 32, seed: 2, divergenceGuard: { explodeFactor: 4, maxRetries: 10 } });
    const rec = h.history.recoveries ?? [0];
    expect(rec[rec.length - 1]).toBeGreaterThan(0);
    expect(h.history.lr[h.history.lr.length - 1]).toBeLessThan(1.5);
    expect(h.history.loss[h.history.loss.length - 1]).toBeLessThan(0.01);
  });

  it('validates its options', async () => {
    const { m, x, y } = small();
    await expect(m.fit(x, y, { divergenceGuard: { maxRetries: -1 } })).rejects.toThrow('Expected an integer in [0, 1000] for divergenceGuard.maxRetries but received -1');
    await expect(m.fit(x, y, { divergenceGuard: { explodeFactor: 0.5 } })).rejects.toThrow('Expected 0 (off) or a number > 1 for divergenceGuard.explodeFactor but received 0.5');
  });
});

describe("lr: 'auto'", () => {
  it('trains the bundled digits to the main job accuracy with no rate given', async () => {
    const { train, test } = loadDigits({ seed: 0 });
    const m = sequential([dense({ units: 256, activation: 'relu', inputShape: [784], kernelInitializer: 'heUniform' }), dense({ units: 128, activation: 'relu', kernelInitializer: 'heUniform' }), dense({ units: 10, activation: 'softmax' })], { seed: 1 });
    m.compile({ optimizer: adam({ lr: 'auto' }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await m.fit(train, { epochs: 8, batchSize: 64, seed: 1 });
    expect(h.lrFinder).toBeDefined();
    expect(h.lrFinder!.suggested).toBeGreaterThan(1e-5);
    expect(h.lrFinder!.suggested).toBeLessThan(1);
    // one-cycle: the rate rises to the peak and comes down again
    const lrs = h.history.lr;
    expect(Math.max(...lrs)).toBeLessThanOrEqual(h.lrFinder!.suggested * (1 + 1e-9));
    expect(lrs[lrs.length - 1]).toBeLessThan(Math.max(...lrs) / 10);
    const r = await m.evaluate(test);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
  });
});
