import {
  constant,
  cosine,
  cosineWarmRestarts,
  exponential,
  isSchedule,
  linearWarmup,
  multiStep,
  normalizeLr,
  oneCycle,
  polynomial,
  scheduleMomentum,
  scheduleValues,
  sequence,
  step,
  warmupCosine,
  type Schedule,
} from '../../lib/schedules';
import {
  cosineChain,
  cosineClosed,
  exponentialChain,
  linearChain,
  maxRelError,
  multiStepChain,
  oneCycleAt,
  polynomialChain,
  stepChain,
  warmRestartsChain,
  type OneCycleOpts,
} from './reference';

// Native values are double precision; PyTorch's recursive forms accumulate a few ulps per step.
const TOL = 1e-12;
const N = 501; // steps 0..500

const values = (s: Schedule, count = N, from = 0): Float64Array => scheduleValues(s, { from, count });

/** Records the measured error (printed once at the end) and checks it against the bound. */
const measured: Record<string, number> = {};
function expectClose(label: string, out: ArrayLike<number>, ref: ArrayLike<number>, tol = TOL, floor = 1e-6): void {
  const err = maxRelError(out, ref, floor);
  measured[label] = Math.max(measured[label] ?? 0, err);
  if (!(err <= tol)) throw new Error(`${label}: max relative error ${err} > ${tol}`);
}
afterAll(() => {
  // eslint-disable-next-line no-console
  console.log(
    'max relative error vs PyTorch reference:\n' +
      Object.entries(measured)
        .map(([k, v]) => `  ${k}: ${v.toExponential(2)}`)
        .join('\n'),
  );
});

describe('schedules match PyTorch step for step', () => {
  it('constant', () => {
    expect(Array.from(values(constant(0.037), 7))).toEqual(new Array(7).fill(0.037));
  });

  it.each([
    [0.1, 10, 0.5],
    [0.05, 30, 0.1],
    [1.3, 7, 0.9],
    [0.2, 1, 0.97],
  ])('StepLR lr=%p stepSize=%p gamma=%p', (lr, stepSize, gamma) => {
    expectClose('step', values(step(lr, { stepSize, gamma })), stepChain(lr, stepSize, gamma, N));
  });

  it.each([
    [0.05, [30, 80], 0.1],
    [0.1, [0, 3, 4, 200, 499], 0.5],
    [0.3, [], 0.1],
    [0.7, [1, 2, 3, 5, 7, 11, 13, 17, 19, 23], 0.8],
  ])('MultiStepLR lr=%p milestones=%p gamma=%p', (lr, milestones, gamma) => {
    expectClose('multiStep', values(multiStep(lr, { milestones, gamma })), multiStepChain(lr, milestones, gamma, N));
  });

  it.each([
    [0.1, 0.99],
    [0.5, 0.9],
    [1e-4, 1.01],
  ])('ExponentialLR lr=%p gamma=%p', (lr, gamma) => {
    expectClose('exponential', values(exponential(lr, { gamma })), exponentialChain(lr, gamma, N));
  });

  it.each([
    [0.05, 50, 0.9],
    [0.1, 499, 1],
    [0.3, 97, 2],
    [0.2, 1, 1],
  ])('PolynomialLR lr=%p totalSteps=%p power=%p', (lr, totalSteps, power) => {
    const out = values(polynomial(lr, { totalSteps, power }));
    // The recursive form stops at 0 for power > 0: compare on the lr scale.
    expectClose('polynomial', out, polynomialChain(lr, totalSteps, power, N), TOL, 1e-6);
    const closed = Array.from({ length: N }, (_, t) => lr * (1 - Math.min(totalSteps, t) / totalSteps) ** power);
    expectClose('polynomial (closed)', out, closed, 1e-13, 1e-12);
  });

  it.each([
    [0.1, 100, 0],
    [0.1, 37, 1e-3],
    [0.05, 500, 0.001],
    [0.2, 1, 0],
    [1.0, 7, 0.5],
  ])('CosineAnnealingLR lr=%p tMax=%p etaMin=%p, closed vs recursive form', (lr, tMax, etaMin) => {
    const out = values(cosine(lr, { tMax, etaMin }));
    const closed = Array.from({ length: N }, (_, t) => cosineClosed(lr, tMax, etaMin, t));
    // Same formula; only the cos implementations differ (glibc natively, V8's here).
    expectClose('cosine (closed)', out, closed, 1e-13, 1e-12);
    // The recursive form runs through minima where 1 + cos(pi t / T) ~ (pi / T)^2 loses digits;
    // compare on the lr scale there.
    expectClose('cosine (recursive)', out, cosineChain(lr, tMax, etaMin, N), TOL, 1e-3);
  });

  it.each([
    [0.1, 10, 1, 0],
    [0.1, 7, 2, 1e-4],
    [0.05, 3, 3, 0],
    [0.2, 1, 2, 0.01],
    [0.3, 50, 1, 0.001],
  ])('CosineAnnealingWarmRestarts lr=%p t0=%p tMult=%p etaMin=%p', (lr, t0, tMult, etaMin) => {
    const out = values(cosineWarmRestarts(lr, { t0, tMult, etaMin }));
    expectClose('cosineWarmRestarts', out, warmRestartsChain(lr, t0, tMult, etaMin, N), TOL, 1e-6);
  });

  it('CosineAnnealingWarmRestarts restarts at the cycle boundaries', () => {
    const s = cosineWarmRestarts(0.1, { t0: 10, tMult: 2 });
    const v = values(s, 151);
    // cycles [0,10) [10,30) [30,70) [70,150)
    for (const t of [0, 10, 30, 70, 150]) expect(v[t]).toBe(0.1);
    expect(v[20]).toBeCloseTo(0.05, 15); // halfway through the 20-step cycle
    const w = values(cosineWarmRestarts(0.1, { t0: 10 }), 41);
    for (const t of [0, 10, 20, 30, 40]) expect(w[t]).toBe(0.1);
  });

  it.each([
    [0.05, 1 / 3, 1, 5],
    [0.05, 0.05, 1, 40],
    [0.1, 1, 0.1, 101],
    [0.2, 0.5, 0.5, 3],
    [0.3, 0.25, 0, 13],
  ])('LinearLR lr=%p startFactor=%p endFactor=%p totalSteps=%p', (lr, startFactor, endFactor, totalSteps) => {
    const out = values(linearWarmup(lr, { startFactor, endFactor, totalSteps }));
    expectClose('linearWarmup', out, linearChain(lr, startFactor, endFactor, totalSteps, N), TOL, 1e-6);
  });

  it('LinearLR defaults are PyTorch (1/3, 1, 5)', () => {
    expect(linearWarmup(0.1)).toEqual({ type: 'linearWarmup', lr: 0.1, startFactor: 1 / 3, endFactor: 1, totalSteps: 5 });
  });

  const oneCycleCases: Array<Partial<OneCycleOpts> & { totalSteps: number }> = [
    { totalSteps: 500 },
    { totalSteps: 500, anneal: 'linear' },
    { totalSteps: 301, threePhase: true },
    { totalSteps: 301, threePhase: true, anneal: 'linear', pctStart: 0.25 },
    { totalSteps: 97, pctStart: 0.5, divFactor: 10, finalDivFactor: 100, baseMomentum: 0.8, maxMomentum: 0.9 },
    { totalSteps: 13, pctStart: 0.01 }, // first phase empty before step 0 (end_step < 0)
    { totalSteps: 1 },
  ];
  it.each(oneCycleCases)('OneCycleLR %p (lr and momentum)', (c) => {
    const o: OneCycleOpts = {
      maxLr: 0.4,
      pctStart: 0.3,
      anneal: 'cos',
      divFactor: 25,
      finalDivFactor: 1e4,
      threePhase: false,
      baseMomentum: 0.85,
      maxMomentum: 0.95,
      ...c,
    };
    const s = oneCycle(o);
    const T = o.totalSteps;
    const lr = values(s, T);
    const m = scheduleMomentum(s, { count: T });
    const ref = Array.from({ length: T }, (_, t) => oneCycleAt(o, t));
    expectClose(
      'oneCycle lr',
      lr,
      ref.map((r) => r.lr),
      TOL,
      1e-9,
    );
    expectClose(
      'oneCycle momentum',
      m,
      ref.map((r) => r.momentum),
    );
    // Past totalSteps (where PyTorch raises) the final values hold.
    const after = values(s, 20, T);
    const afterM = scheduleMomentum(s, { from: T, count: 20 });
    for (let i = 0; i < 20; i++) {
      expect(after[i]).toBe(lr[T - 1]);
      expect(afterM[i]).toBe(m[T - 1]);
    }
  });

  it('OneCycleLR hits its landmarks', () => {
    const s = oneCycle({ maxLr: 1, totalSteps: 100 });
    const v = values(s, 100);
    const m = scheduleMomentum(s, { count: 100 });
    expect(v[0]).toBeCloseTo(1 / 25, 15);
    expect(v[29]).toBe(1); // end of the warm-up phase: pctStart * totalSteps - 1
    expect(m[0]).toBeCloseTo(0.95, 15);
    expect(m[29]).toBeCloseTo(0.85, 15);
    expect(v[99]).toBeCloseTo(1 / 25 / 1e4, 18);
    expect(m[99]).toBeCloseTo(0.95, 15);
  });

  it('OneCycleLR without cycleMomentum sets no momentum', () => {
    const m = scheduleMomentum(oneCycle({ maxLr: 1, totalSteps: 50, cycleMomentum: false }), { count: 50 });
    expect(Array.from(m).every(Number.isNaN)).toBe(true);
    expect(Array.from(scheduleMomentum(cosine(0.1, { tMax: 10 }), { count: 5 })).every(Number.isNaN)).toBe(true);
  });

  it('SequentialLR restarts each child at its milestone', () => {
    const lr = 0.1;
    const children: Schedule[] = [
      linearWarmup(lr, { startFactor: 0.1, totalSteps: 20 }),
      cosine(lr, { tMax: 150, etaMin: 1e-4 }),
      exponential(lr, { gamma: 0.99 }),
      step(lr, { stepSize: 25, gamma: 0.5 }),
    ];
    const milestones = [20, 170, 300];
    const out = values(sequence(children, { milestones }));
    const refs = [
      linearChain(lr, 0.1, 1, 20, N),
      cosineChain(lr, 150, 1e-4, N),
      exponentialChain(lr, 0.99, N),
      stepChain(lr, 25, 0.5, N),
    ];
    const ref = Array.from({ length: N }, (_, t) => {
      let i = 0;
      while (i < milestones.length && t >= milestones[i]) i++;
      return refs[i][i === 0 ? t : t - milestones[i - 1]];
    });
    expectClose('sequence', out, ref, TOL, 1e-3);
  });

  it('sequences nest, and pass momentum through from a one-cycle child', () => {
    const inner = sequence([constant(0.01), oneCycle({ maxLr: 0.2, totalSteps: 40 })], { milestones: [10] });
    const outer = sequence([inner, constant(0.003)], { milestones: [50] });
    const v = values(outer, 60);
    const m = scheduleMomentum(outer, { count: 60 });
    const o: OneCycleOpts = {
      maxLr: 0.2,
      totalSteps: 40,
      pctStart: 0.3,
      anneal: 'cos',
      divFactor: 25,
      finalDivFactor: 1e4,
      threePhase: false,
      baseMomentum: 0.85,
      maxMomentum: 0.95,
    };
    for (let t = 0; t < 60; t++) {
      if (t < 10) {
        expect(v[t]).toBe(0.01);
        expect(m[t]).toBeNaN();
      } else if (t < 50) {
        const r = oneCycleAt(o, t - 10);
        expect(Math.abs(v[t] - r.lr)).toBeLessThanOrEqual(1e-15);
        expect(Math.abs(m[t] - r.momentum)).toBeLessThanOrEqual(1e-15);
      } else {
        expect(v[t]).toBe(0.003);
        expect(m[t]).toBeNaN();
      }
    }
  });

  it('warmupCosine ramps linearly, decays by cosine, then holds etaMin', () => {
    const lr = 3e-3;
    const W = 17;
    const T = 400;
    const etaMin = 1e-5;
    const out = values(warmupCosine(lr, { warmupSteps: W, totalSteps: T, etaMin }));
    const ref = Array.from({ length: N }, (_, t) =>
      t < W ? (lr * (t + 1)) / (W + 1) : t < T ? cosineClosed(lr, T - W, etaMin, t - W) : etaMin,
    );
    expectClose('warmupCosine', out, ref, 1e-14, 1e-9);
    const noWarm = values(warmupCosine(0.1, { warmupSteps: 0, totalSteps: 50 }), 60);
    expect(noWarm[0]).toBe(0.1);
    expect(noWarm[55]).toBe(0);
  });

  it('hand-checked values', () => {
    expect(values(step(0.1, { stepSize: 10, gamma: 0.5 }), 1, 25)[0]).toBe(0.025);
    const ms = values(multiStep(0.05, { milestones: [30, 80] }), 100);
    expect([ms[29], ms[30], ms[79], ms[80], ms[99]]).toEqual([0.05, 0.05 * 0.1, 0.05 * 0.1, 0.05 * 0.1 ** 2, 0.05 * 0.1 ** 2]);
    expect(values(exponential(2, { gamma: 0.5 }), 1, 3)[0]).toBe(0.25);
    expect(Array.from(values(polynomial(0.1, { totalSteps: 4, power: 2 }), 6))).toEqual([
      0.1, 0.1 * 0.5625, 0.1 * 0.25, 0.1 * 0.0625, 0, 0,
    ]);
    const c = values(cosine(0.1, { tMax: 10, etaMin: 0.02 }), 21);
    expect(c[0]).toBe(0.1);
    expect(c[5]).toBeCloseTo(0.06, 16);
    expect(c[10]).toBeCloseTo(0.02, 16);
    expect(c[20]).toBeCloseTo(0.1, 16); // the closed form continues past tMax, as in PyTorch
    const lin = values(linearWarmup(0.05, { startFactor: 0.5, totalSteps: 4 }), 6);
    [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05].forEach((x, i) => expect(lin[i]).toBeCloseTo(x, 16));
  });

  it('previews from any step and at very large steps', () => {
    const s = sequence([linearWarmup(0.1, { totalSteps: 7 }), cosineWarmRestarts(0.1, { t0: 11, tMult: 3 })], {
      milestones: [7],
    });
    const all = values(s, 400);
    expect(Array.from(values(s, 100, 250))).toEqual(Array.from(all.subarray(250, 350)));
    expect(values(s, 0).length).toBe(0);
    for (const sched of [
      s,
      cosineWarmRestarts(0.1, { t0: 1, tMult: 1000 }),
      exponential(0.1, { gamma: 0.999 }),
      oneCycle({ maxLr: 0.1, totalSteps: 1000 }),
    ]) {
      const big = values(sched, 3, 2 ** 53 - 3);
      for (const x of big) expect(Number.isFinite(x)).toBe(true);
    }
  });
});

describe('specs are frozen plain data', () => {
  it('factories fill defaults and freeze', () => {
    const s = multiStep(0.1, { milestones: [3, 9] });
    expect(s).toEqual({ type: 'multiStep', lr: 0.1, milestones: [3, 9], gamma: 0.1 });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.milestones)).toBe(true);
    expect(oneCycle({ maxLr: 0.1, totalSteps: 10 })).toEqual({
      type: 'oneCycle',
      maxLr: 0.1,
      totalSteps: 10,
      pctStart: 0.3,
      anneal: 'cos',
      divFactor: 25,
      finalDivFactor: 1e4,
      threePhase: false,
      cycleMomentum: true,
      baseMomentum: 0.85,
      maxMomentum: 0.95,
    });
    const seq = warmupCosine(0.1, { warmupSteps: 5, totalSteps: 20 });
    expect(seq.type).toBe('sequence');
    expect(seq.milestones).toEqual([5, 20]);
    expect(Object.isFrozen(seq.schedules)).toBe(true);
    expect(seq.schedules[0]).toEqual({ type: 'linearWarmup', lr: 0.1, startFactor: 1 / 6, endFactor: 1, totalSteps: 5 });
  });

  it('round-trips through JSON', () => {
    const s = sequence([linearWarmup(0.1, { totalSteps: 5 }), oneCycle({ maxLr: 0.3, totalSteps: 90 })], { milestones: [5] });
    const back = normalizeLr('lr', JSON.parse(JSON.stringify(s)));
    expect(back).toEqual(s);
    expect(Array.from(values(back as Schedule, 100))).toEqual(Array.from(values(s, 100)));
  });

  it('isSchedule and normalizeLr', () => {
    expect(isSchedule(cosine(0.1, { tMax: 5 }))).toBe(true);
    expect(isSchedule({ type: 'nope' })).toBe(false);
    expect(isSchedule(0.1)).toBe(false);
    expect(isSchedule(null)).toBe(false);
    expect(normalizeLr('lr', 0.01)).toBe(0.01);
    expect(normalizeLr('lr', 0)).toBe(0);
    expect(normalizeLr('lr', 'auto')).toBe('auto');
    expect(normalizeLr('lr', { type: 'cosine', lr: 0.1, tMax: 9 })).toEqual({ type: 'cosine', lr: 0.1, tMax: 9, etaMin: 0 });
    expect(Array.from(values(0.25 as unknown as Schedule, 2))).toEqual([0.25, 0.25]);
  });
});

describe('validation messages', () => {
  const cases: Array<[string, () => unknown, ErrorConstructor, string]> = [
    ['negative gamma', () => exponential(0.1, { gamma: -0.5 }), RangeError, 'Expected a number > 0 for gamma but received -0.5'],
    ['gamma not a number', () => step(0.1, { stepSize: 3, gamma: '0.5' as never }), TypeError, 'Expected a number for gamma but received "0.5"'],
    ['negative lr', () => constant(-1), RangeError, 'Expected a number >= 0 for lr but received -1'],
    ['infinite lr', () => cosine(Infinity, { tMax: 3 }), RangeError, 'Expected a finite number for lr but received Infinity'],
    ['stepSize 0', () => step(0.1, { stepSize: 0 }), RangeError, 'Expected an integer >= 1 for stepSize but received 0'],
    ['milestones not increasing', () => multiStep(0.1, { milestones: [10, 5] }), RangeError, 'Expected an integer >= 11 for milestones[1] but received 5'],
    ['milestones repeated', () => multiStep(0.1, { milestones: [10, 10] }), RangeError, 'Expected an integer >= 11 for milestones[1] but received 10'],
    ['milestones not an array', () => multiStep(0.1, { milestones: 10 as never }), TypeError, 'Expected an array of integers for milestones but received 10'],
    ['pctStart 1', () => oneCycle({ maxLr: 0.1, totalSteps: 100, pctStart: 1 }), RangeError, 'Expected a number > 0 and < 1 for pctStart but received 1'],
    ['pctStart 0', () => oneCycle({ maxLr: 0.1, totalSteps: 100, pctStart: 0 }), RangeError, 'Expected a number > 0 and < 1 for pctStart but received 0'],
    ['empty warm-up phase', () => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }), RangeError, 'Expected a value with pctStart * totalSteps != 1 (totalSteps is 10) for pctStart but received 0.1'],
    ['totalSteps not an integer', () => oneCycle({ maxLr: 0.1, totalSteps: 10.5 }), RangeError, 'Expected an integer for totalSteps but received 10.5'],
    ['maxLr 0', () => oneCycle({ maxLr: 0, totalSteps: 10 }), RangeError, 'Expected a number > 0 for maxLr but received 0'],
    ['bad anneal', () => oneCycle({ maxLr: 1, totalSteps: 10, anneal: 'cosine' as never }), RangeError, "Expected one of 'cos', 'linear' for anneal but received \"cosine\""],
    ['momentum 1', () => oneCycle({ maxLr: 1, totalSteps: 10, maxMomentum: 1 }), RangeError, 'Expected a number >= 0 and < 1 for maxMomentum but received 1'],
    ['tMax 0', () => cosine(0.1, { tMax: 0 }), RangeError, 'Expected an integer >= 1 for tMax but received 0'],
    ['tMult 1.5', () => cosineWarmRestarts(0.1, { t0: 5, tMult: 1.5 }), RangeError, 'Expected an integer for tMult but received 1.5'],
    ['startFactor 0', () => linearWarmup(0.1, { startFactor: 0 }), RangeError, 'Expected a number > 0 and <= 1 for startFactor but received 0'],
    ['endFactor 2', () => linearWarmup(0.1, { endFactor: 2 }), RangeError, 'Expected a number >= 0 and <= 1 for endFactor but received 2'],
    ['unknown option', () => step(0.1, { stepSize: 3, gama: 0.5 } as never), RangeError, `Expected only the options 'stepSize', 'gamma' for options but received an option 'gama'`],
    ['missing options', () => exponential(0.1, undefined as never), TypeError, 'Expected an object for options but received undefined'],
    ['missing required option', () => exponential(0.1, {} as never), TypeError, 'Expected a number for gamma but received undefined'],
    ['sequence milestone count', () => sequence([constant(1), constant(2)], { milestones: [3, 4] }), RangeError, 'Expected 1 milestone (one fewer than schedules) for milestones but received an array of length 2'],
    ['sequence milestone 0', () => sequence([constant(1), constant(2)], { milestones: [0] }), RangeError, 'Expected an integer >= 1 for milestones[0] but received 0'],
    ['empty sequence', () => sequence([], { milestones: [] }), RangeError, 'Expected at least one schedule for schedules but received an array of length 0'],
    ['bad child', () => sequence([constant(1), 0.5 as never], { milestones: [3] }), TypeError, 'Expected an object for schedules[1] but received 0.5'],
    ['warmupCosine totalSteps', () => warmupCosine(0.1, { warmupSteps: 10, totalSteps: 10 }), RangeError, 'Expected an integer >= 11 for totalSteps but received 10'],
    ['normalizeLr negative', () => normalizeLr('lr', -1), RangeError, 'Expected a number >= 0 for lr but received -1'],
    ['normalizeLr NaN', () => normalizeLr('lr', NaN), RangeError, 'Expected a finite number for lr but received NaN'],
    ['normalizeLr string', () => normalizeLr('lr', 'fast'), RangeError, "Expected a number, a schedule or 'auto' for lr but received \"fast\""],
    ['normalizeLr boolean', () => normalizeLr('lr', true), TypeError, "Expected a number, a schedule or 'auto' for lr but received true"],
    ['normalizeLr bad type', () => normalizeLr('groups[1].lr', { type: 'cyclic' }), RangeError, `Expected one of 'constant', 'step', 'multiStep', 'exponential', 'polynomial', 'cosine', 'cosineWarmRestarts', 'linearWarmup', 'oneCycle', 'sequence' for groups[1].lr.type but received "cyclic"`],
    ['normalizeLr missing field', () => normalizeLr('lr', { type: 'cosine', lr: 0.1 }), TypeError, 'Expected an integer for lr.tMax but received undefined'],
    ['normalizeLr extra field', () => normalizeLr('lr', { type: 'constant', lr: 0.1, gamma: 2 }), RangeError, `Expected only the options 'type', 'lr' for lr but received an option 'gamma'`],
    ['normalizeLr nested child', () => normalizeLr('lr', { type: 'sequence', schedules: [{ type: 'constant', lr: 1 }, { type: 'step', lr: 1, stepSize: -2 }], milestones: [4] }), RangeError, 'Expected an integer >= 1 for lr.schedules[1].stepSize but received -2'],
    ['preview count', () => scheduleValues(constant(1), {} as never), TypeError, 'Expected an integer for count but received undefined'],
    ['preview from', () => scheduleValues(constant(1), { from: -1, count: 3 }), RangeError, 'Expected an integer >= 0 for from but received -1'],
  ];
  it.each(cases)('%s', (_label, fn, ctor, msg) => {
    expect(fn).toThrow(ctor);
    expect(fn).toThrow(msg);
    try {
      fn();
    } catch (e) {
      expect((e as Error).message).toBe(msg);
    }
  });

  it('rejects sequences nested too deeply', () => {
    let s: Schedule = constant(1);
    for (let i = 0; i < 16; i++) s = sequence([s], { milestones: [] });
    expect(() => sequence([s], { milestones: [] })).toThrow(
      'Expected sequences nested at most 16 deep for schedules but received an array of length 1',
    );
  });
});

describe('native checks (behind the TypeScript validation)', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { binding } = require('../../lib/native') as typeof import('../../lib/native');
  it('rejects what the evaluator cannot take, with a code', () => {
    const b = binding();
    const cases: Array<[unknown, string, string]> = [
      [{ type: 'cosine', lr: 0.1, tMax: 0, etaMin: 0 }, 'Invalid schedule: tMax must be an integer >= 1 (in schedule)', 'ERR_NT_INVALID_ARGUMENT_VALUE'],
      [{ type: 'cosine', lr: 0.1, tMax: 2.5, etaMin: 0 }, 'Expected an integer for schedule.tMax', 'ERR_NT_INVALID_ARGUMENT_VALUE'],
      [{ type: 'cosine', lr: 0.1, etaMin: 0 }, 'Expected an integer for schedule.tMax', 'ERR_NT_INVALID_ARGUMENT_TYPE'],
      [{ type: 'exponential', lr: NaN, gamma: 0.5 }, 'Expected a finite number for schedule.lr', 'ERR_NT_INVALID_ARGUMENT_VALUE'],
      [{ type: 'multiStep', lr: 1, milestones: [3, 2], gamma: 0.5 }, 'Invalid schedule: milestones must be strictly increasing integers >= 0 (in schedule)', 'ERR_NT_INVALID_ARGUMENT_VALUE'],
      [{ type: 'sequence', schedules: [1, 2], milestones: [] }, 'Invalid schedule: a sequence needs one milestone fewer than schedules (in schedule)', 'ERR_NT_INVALID_ARGUMENT_VALUE'],
      [{ type: 'warp' }, "Expected one of 'constant', 'step', 'multiStep', 'exponential', 'polynomial', 'cosine', 'cosineWarmRestarts', 'linearWarmup', 'oneCycle', 'sequence' for schedule.type but received 'warp'", 'ERR_NT_INVALID_ARGUMENT_VALUE'],
      ['auto', 'Expected a learning-rate schedule or a number for schedule', 'ERR_NT_INVALID_ARGUMENT_TYPE'],
      [-1, 'Invalid schedule: lr must be a finite number >= 0 (in schedule)', 'ERR_NT_INVALID_ARGUMENT_VALUE'],
    ];
    for (const [spec, msg, code] of cases) {
      let err: (Error & { code?: string }) | undefined;
      try {
        b.scheduleValues(spec as never, 0, 3);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.message).toBe(msg);
      expect(err?.code).toBe(code);
    }
    const cyclic: Record<string, unknown> = { type: 'sequence', milestones: [] };
    cyclic.schedules = [cyclic];
    expect(() => b.scheduleValues(cyclic as never, 0, 1)).toThrow(/^Expected sequences nested at most 16 deep for schedule/);
    expect(() => b.scheduleValues(1, 0, 2 ** 28)).toThrow('Expected an integer in [0, 134217728] for count');
  });
});
