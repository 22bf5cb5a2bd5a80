/**
 * Reduce-on-plateau against a transcription of PyTorch's ReduceLROnPlateau.step (the reference
 * below, written from torch/optim/lr_scheduler.py) on designed and random sequences, driven
 * through a fake model that records setLrMultiplier, and once through a real fit.
 */
import { ReduceLROnPlateau, dense, reduceLROnPlateau, sequential, sgd, tensor } from '../../../lib';
import type { Logs, ReduceLROnPlateauOptions } from '../../../lib';
import { makeRng } from '../../helpers/model';

interface RefOptions {
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  mode: 'min' | 'max';
  cooldown: number;
  minLr: number;
  eps: number;
}

/** PyTorch's ReduceLROnPlateau on one parameter group: returns the rate after each step. */
function referencePlateau(values: number[], lr0: number, o: RefOptions): { lrs: number[]; reducedAt: number[] } {
  let lr = lr0;
  let best = o.mode === 'min' ? Infinity : -Infinity;
  let bad = 0;
  let cooldownCounter = 0;
  const isBetter = (a: number, b: number): boolean => {
    if (o.mode === 'min' && o.thresholdMode === 'rel') return a < b * (1 - o.threshold);
    if (o.mode === 'min') return a < b - o.threshold;
    if (o.thresholdMode === 'rel') return a > b * (o.threshold + 1);
    return a > b + o.threshold;
  };
  const lrs: number[] = [];
  const reducedAt: number[] = [];
  values.forEach((current, epoch) => {
    if (isBetter(current, best)) {
      best = current;
      bad = 0;
    } else {
      bad += 1;
    }
    if (cooldownCounter > 0) {
      cooldownCounter -= 1;
      bad = 0;
    }
    if (bad > o.patience) {
      const newLr = Math.max(lr * o.factor, o.minLr);
      if (lr - newLr > o.eps) {
        lr = newLr;
        reducedAt.push(epoch);
      }
      cooldownCounter = o.cooldown;
      bad = 0;
    }
    lrs.push(lr);
  });
  return { lrs, reducedAt };
}

/** A model stand-in: the effective rate is base x the multiplier last set. */
class FakeModel {
  multiplier = 1;
  calls: number[] = [];
  setLrMultiplier(m: number): void {
    this.multiplier = m;
    this.calls.push(m);
  }
}

function drive(cb: ReduceLROnPlateau, values: number[], baseLr: number, monitor = 'val_loss'): { fake: FakeModel; lrs: number[] } {
  const fake = new FakeModel();
  cb.setModel(fake);
  cb.onTrainBegin();
  const lrs: number[] = [];
  values.forEach((val, epoch) => {
    const logs: Logs = { loss: 1, [monitor]: val, lr: baseLr * fake.multiplier };
    cb.onEpochEnd(epoch, logs);
    lrs.push(baseLr * fake.multiplier);
  });
  return { fake, lrs };
}

const DEFAULTS: RefOptions = { factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', mode: 'min', cooldown: 0, minLr: 0, eps: 1e-8 };

describe('ReduceLROnPlateau: PyTorch semantics', () => {
  test('fires on the first epoch after `patience` bad epochs, then counts afresh', () => {
    // Improvements for 3 epochs, then flat: bad epochs are 3, 4, 5, ... With patience 2 the third
    // bad epoch (epoch 5) reduces; the count restarts, so epoch 8 reduces next.
    const values = [1, 0.8, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6];
    const cb = reduceLROnPlateau({ patience: 2, factor: 0.5 });
    const { fake, lrs } = drive(cb, values, 0.1);
    expect(cb.reductions.map((r) => r.epoch)).toEqual([5, 8]);
    const ref = referencePlateau(values, 0.1, { ...DEFAULTS, patience: 2, factor: 0.5 });
    expect(ref.reducedAt).toEqual([5, 8]);
    lrs.forEach((lr, i) => expect(lr).toBeCloseTo(ref.lrs[i], 15));
    expect(fake.calls.slice(1)).toEqual([0.5, 0.25]); // the first call re-applies 1 at train begin
    expect(cb.multiplier).toBe(0.25);
    expect(cb.reductions[0]).toEqual({ epoch: 5, value: 0.6, oldLr: 0.1, newLr: 0.05 });
    expect(cb.lastLr).toBeCloseTo(0.025, 15);
  });

  test('patience 0 reduces on every bad epoch; an improvement resets the count', () => {
    const values = [1, 1, 0.5, 0.7, 0.4, 0.4];
    const cb = reduceLROnPlateau({ patience: 0 });
    drive(cb, values, 1);
    expect(cb.reductions.map((r) => r.epoch)).toEqual([1, 3, 5]);
    expect(referencePlateau(values, 1, { ...DEFAULTS, patience: 0 }).reducedAt).toEqual([1, 3, 5]);
  });

  test('cooldown suspends counting for `cooldown` epochs after a reduction', () => {
    const values = new Array<number>(9).fill(2);
    const cb = reduceLROnPlateau({ patience: 0, cooldown: 2 });
    drive(cb, values, 1);
    // Epoch 0 sets the best; 1 reduces; 2 and 3 are cooldown; 4 reduces; 5, 6 cooldown; 7 reduces;
    // after epoch 8 one cooldown epoch is left.
    expect(cb.reductions.map((r) => r.epoch)).toEqual([1, 4, 7]);
    expect(referencePlateau(values, 1, { ...DEFAULTS, patience: 0, cooldown: 2 }).reducedAt).toEqual([1, 4, 7]);
    expect(cb.cooldownCounter).toBe(1);
    expect(cb.inCooldown).toBe(true);
  });

  test('rel and abs thresholds decide what counts as an improvement', () => {
    // From a best of 10, 9.5 improves by 0.5: enough for abs 0.1 (needs < 9.9), not for rel 0.1 (needs < 9).
    const values = [10, 9.5, 9.5];
    const rel = reduceLROnPlateau({ patience: 0, threshold: 0.1, thresholdMode: 'rel' });
    const abs = reduceLROnPlateau({ patience: 0, threshold: 0.1, thresholdMode: 'abs' });
    drive(rel, values, 1);
    drive(abs, values, 1);
    expect(rel.reductions.map((r) => r.epoch)).toEqual([1, 2]);
    expect(rel.best).toBe(10);
    expect(abs.reductions.map((r) => r.epoch)).toEqual([2]);
    expect(abs.best).toBe(9.5);
  });

  test("max mode, and 'auto' picks max for accuracy", () => {
    const values = [0.5, 0.6, 0.6, 0.59, 0.7];
    const auto = reduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 });
    expect(auto.mode).toBe('max');
    expect(reduceLROnPlateau().mode).toBe('min');
    drive(auto, values, 1, 'val_accuracy');
    expect(auto.reductions.map((r) => r.epoch)).toEqual([3]);
    expect(referencePlateau(values, 1, { ...DEFAULTS, patience: 1, mode: 'max' }).reducedAt).toEqual([3]);
    expect(auto.best).toBe(0.7);
  });

  test('minLr bounds the effective rate; a reduction within eps is skipped', () => {
    const values = new Array<number>(8).fill(1);
    const cb = reduceLROnPlateau({ patience: 0, minLr: 0.003 });
    const { lrs } = drive(cb, values, 0.1);
    // 0.1 -> 0.01 -> max(0.001, 0.003) = 0.003, then old - new = 0: no further change.
    expect(cb.reductions.map((r) => r.epoch)).toEqual([1, 2]);
    expect(cb.reductions[0].oldLr).toBe(0.1);
    expect(cb.reductions[1].oldLr).toBeCloseTo(0.01, 15);
    expect(cb.reductions[1].newLr).toBe(0.003);
    expect(lrs[lrs.length - 1]).toBeCloseTo(0.003, 15);
    expect(cb.multiplier).toBeCloseTo(0.03, 15);

    const tiny = reduceLROnPlateau({ patience: 0, factor: 0.5, eps: 1e-3 });
    drive(tiny, values, 1e-3);
    expect(tiny.reductions).toEqual([]); // 1e-3 - 5e-4 = 5e-4 is not > eps
    expect(tiny.lastLr).toBe(1e-3);
  });

  test('NaN never improves (counts as a bad epoch)', () => {
    const cb = reduceLROnPlateau({ patience: 1 });
    drive(cb, [1, NaN, NaN], 1);
    expect(cb.reductions.map((r) => r.epoch)).toEqual([2]);
  });

  test('matches the reference on random sequences and options', () => {
    const rng = makeRng(17);
    for (let trial = 0; trial < 300; trial++) {
      const o: RefOptions = {
        factor: 0.05 + 0.9 * rng.next(),
        patience: rng.int(4),
        threshold: rng.next() < 0.3 ? 0 : 10 ** (-4 + 3 * rng.next()),
        thresholdMode: rng.next() < 0.5 ? 'rel' : 'abs',
        mode: rng.next() < 0.5 ? 'min' : 'max',
        cooldown: rng.int(3),
        minLr: rng.next() < 0.5 ? 0 : 10 ** (-4 * rng.next()) * 1e-2,
        eps: rng.next() < 0.5 ? 1e-8 : 1e-4,
      };
      // A noisy drift with plateaus: rounded so exact ties occur.
      const n = 5 + rng.int(40);
      let level = 1 + rng.next();
      const values = Array.from({ length: n }, () => {
        if (rng.next() < 0.5) level += (o.mode === 'min' ? -1 : 1) * 0.05 * rng.next();
        return Math.round((level + 0.02 * rng.normal()) * 100) / 100;
      });
      const lr0 = 10 ** (-3 * rng.next());
      const cb = new ReduceLROnPlateau(o as ReduceLROnPlateauOptions);
      const { lrs } = drive(cb, values, lr0);
      const ref = referencePlateau(values, lr0, o);
      expect(cb.reductions.map((r) => r.epoch)).toEqual(ref.reducedAt);
      lrs.forEach((lr, i) => expect(Math.abs(lr - ref.lrs[i])).toBeLessThanOrEqual(1e-12 * ref.lrs[i]));
    }
  });

  test('a model that reports its multiplier: a reduction scales the current value (changes by others are kept)', () => {
    const model = { lrMultiplier: 1, setLrMultiplier(m: number): void { this.lrMultiplier = m; } };
    const cb = reduceLROnPlateau({ patience: 0, factor: 0.5 });
    cb.setModel(model);
    cb.onTrainBegin();
    cb.onEpochEnd(0, { val_loss: 1, lr: 0.1 });
    model.lrMultiplier = 0.25; // e.g. a divergence guard halved the rate twice during epoch 1
    cb.onEpochEnd(1, { val_loss: 1, lr: 0.025 });
    expect(model.lrMultiplier).toBe(0.125);
    expect(cb.reductions).toEqual([{ epoch: 1, value: 1, oldLr: 0.025, newLr: 0.0125 }]);
    cb.onTrainBegin(); // the model's own record is kept
    expect(model.lrMultiplier).toBe(0.125);
  });

  test('a new fit restarts best and counters but keeps the reduced rate', () => {
    const cb = reduceLROnPlateau({ patience: 0 });
    const { fake } = drive(cb, [1, 1], 1);
    expect(cb.multiplier).toBeCloseTo(0.1, 15);
    cb.onTrainBegin();
    expect(fake.calls[fake.calls.length - 1]).toBe(cb.multiplier);
    expect(cb.best).toBe(Infinity);
    expect(cb.numBadEpochs).toBe(0);
  });
});

describe('ReduceLROnPlateau in a real fit', () => {
  test('reductions take effect in the next epoch, as PyTorch would decide from the logged values', async () => {
    const rng = makeRng(5);
    const x = Array.from({ length: 200 }, () => Array.from({ length: 4 }, () => Math.fround(rng.normal())));
    const y = x.map((r) => [Math.fround(r[0] - 2 * r[1] + 0.5 * r[3])]);
    // Validation targets unrelated to x: val_loss stops improving after a few epochs.
    const vx = Array.from({ length: 64 }, () => Array.from({ length: 4 }, () => Math.fround(rng.normal())));
    const vy = vx.map(() => [Math.fround(rng.normal())]);
    const m = sequential([dense({ units: 1, inputShape: [4] })], { seed: 2 });
    m.compile({ optimizer: sgd({ lr: 0.05 }), loss: 'meanSquaredError' });
    const opts = { factor: 0.5, patience: 1, threshold: 0.01, cooldown: 1, minLr: 0.01 };
    const cb = reduceLROnPlateau(opts);
    const tvx = tensor(vx);
    const tvy = tensor(vy);
    try {
      const h = await m.fit(x, y, { epochs: 14, batchSize: 16, seed: 3, validationData: [tvx, tvy], callbacks: [cb] });
      const val = h.history.val_loss;
      const lr = h.history.lr;
      const ref = referencePlateau(val, 0.05, { ...DEFAULTS, ...opts, thresholdMode: 'rel', mode: 'min' });
      console.log(`fit: val_loss ${val.map((t) => t.toFixed(4)).join(' ')}; lr ${lr.map((t) => t.toPrecision(3)).join(' ')}; reductions at ${cb.reductions.map((r) => r.epoch).join(', ')}`);
      expect(cb.reductions.length).toBeGreaterThanOrEqual(2);
      expect(cb.reductions.map((r) => r.epoch)).toEqual(ref.reducedAt);
      // The rate logged for each epoch is the one the reference holds after the previous epoch.
      lr.forEach((l, e) => expect(Math.abs(l - (e === 0 ? 0.05 : ref.lrs[e - 1]))).toBeLessThanOrEqual(1e-12 * l));
      expect(Math.min(...lr)).toBeGreaterThanOrEqual(0.01 * (1 - 1e-12));
      expect(cb.lastLr).toBeCloseTo(ref.lrs[ref.lrs.length - 1], 14);
    } finally {
      tvx.dispose();
      tvy.dispose();
    }
  });
});

describe('ReduceLROnPlateau: validation', () => {
  const cases: [string, Record<string, unknown>, string, typeof TypeError | typeof RangeError][] = [
    ['factor 1', { factor: 1 }, 'Expected a number > 0 and < 1 for factor but received 1', RangeError],
    ['factor 0', { factor: 0 }, 'Expected a number > 0 and < 1 for factor but received 0', RangeError],
    ['factor string', { factor: '0.5' }, 'Expected a number for factor but received "0.5"', TypeError],
    ['patience -1', { patience: -1 }, 'Expected an integer >= 0 for patience but received -1', RangeError],
    ['patience 1.5', { patience: 1.5 }, 'Expected an integer for patience but received 1.5', RangeError],
    ['cooldown -2', { cooldown: -2 }, 'Expected an integer >= 0 for cooldown but received -2', RangeError],
    ['minLr -1e-3', { minLr: -1e-3 }, 'Expected a number >= 0 for minLr but received -0.001', RangeError],
    ['threshold -1', { threshold: -1 }, 'Expected a number >= 0 for threshold but received -1', RangeError],
    ['eps NaN', { eps: NaN }, 'Expected a finite number for eps but received NaN', RangeError],
    ['thresholdMode', { thresholdMode: 'relative' }, "Expected one of 'rel', 'abs' for thresholdMode but received \"relative\"", RangeError],
    ['mode', { mode: 'minimize' }, "Expected one of 'min', 'max', 'auto' for mode but received \"minimize\"", RangeError],
    ['monitor', { monitor: 3 }, 'Expected a string for monitor but received 3', TypeError],
    ['verbose', { verbose: 'yes' }, 'Expected a boolean for verbose but received "yes"', TypeError],
    ['unknown key', { min_lr: 0 }, "Expected only the options 'monitor', 'factor', 'patience', 'threshold', 'thresholdMode', 'mode', 'cooldown', 'minLr', 'eps', 'verbose' for reduceLROnPlateau options but received an option 'min_lr'", RangeError],
  ];
  test.each(cases)('%s', (_name, opts, msg, cls) => {
    expect(() => reduceLROnPlateau(opts as ReduceLROnPlateauOptions)).toThrow(cls);
    expect(() => reduceLROnPlateau(opts as ReduceLROnPlateauOptions)).toThrow(msg);
  });

  test('epoch logs without the monitored value or the rate; a model without setLrMultiplier', () => {
    const cb = reduceLROnPlateau();
    cb.setModel(new FakeModel());
    expect(() => cb.onEpochEnd(0, { loss: 1, lr: 0.1 })).toThrow(
      "Expected the monitored value 'val_loss' in the epoch logs (available: loss, lr); add validation data or metrics, or change monitor",
    );
    expect(() => cb.onEpochEnd(0, { val_loss: 1 })).toThrow("Expected a finite learning rate for logs['lr'] but received undefined");
    expect(() => cb.setModel({ stopTraining: false } as never)).toThrow('Expected a model with setLrMultiplier() for model but received an object');
  });
});
