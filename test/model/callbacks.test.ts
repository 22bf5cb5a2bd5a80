/**
 * Callbacks during fit(): early stopping (patience counting, minDelta, mode, baseline,
 * restoreBestWeights against weights captured at the best epoch), model.stopTraining, awaited
 * async epoch callbacks, errors thrown by callbacks, and the CSV logger.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Callback, CsvLogger, EarlyStopping, Model, NamedWeights, dense, earlyStopping, sequential, sgd } from '../../lib';
import { cloneWeights, makeRng, randMatrix, sameBits } from '../helpers/model';

function regressionModel(seed: number, lr = 0.05): Model {
  const m = sequential([dense({ units: 4, activation: 'tanh', inputShape: [3] }), dense({ units: 1 })], { seed });
  m.compile({ optimizer: sgd({ lr }), loss: 'mse' });
  return m;
}

function regressionData(seed: number, n = 64): { x: number[][]; y: number[][] } {
  const rng = makeRng(seed);
  const x = randMatrix(rng, n, 3);
  // A little noise keeps the loss off zero (a noise-free fit approaches 0 loss; see known-bugs BUG 6).
  return { x, y: x.map((r) => [Math.fround(0.5 * r[0] - r[1] + 0.25 * r[2] + 0.1 * rng.normal())]) };
}

/** Feeds a scripted sequence of monitored values to an EarlyStopping and reports when it stops. */
function drive(es: EarlyStopping, values: number[], key = 'val_loss'): { stoppedAt: number; ran: number } {
  const model = { stopTraining: false, getWeightArena: () => new Float32Array(1), setWeightArena: () => undefined };
  es.setModel(model);
  es.onTrainBegin();
  let ran = 0;
  for (let e = 0; e < values.length && !model.stopTraining; e++) {
    es.onEpochEnd(e, { [key]: values[e] });
    ran++;
  }
  es.onTrainEnd();
  return { stoppedAt: es.stoppedEpoch, ran };
}

describe('earlyStopping (scripted values, Keras semantics)', () => {
  test('patience counts epochs without improvement exactly', () => {
    expect(drive(earlyStopping({ patience: 2 }), [1, 0.9, 0.95, 0.92, 0.91, 0.5])).toEqual({ stoppedAt: 3, ran: 4 });
    expect(drive(earlyStopping({ patience: 3 }), [1, 0.9, 0.95, 0.92, 0.91, 0.5])).toEqual({ stoppedAt: 4, ran: 5 });
    // An improvement resets the count.
    expect(drive(earlyStopping({ patience: 2 }), [1, 1.1, 0.9, 1.2, 1.3, 0.1])).toEqual({ stoppedAt: 4, ran: 5 });
    // Patience 0 stops at the first epoch without improvement (never at epoch 0).
    expect(drive(earlyStopping({ patience: 0 }), [1, 1, 0.5])).toEqual({ stoppedAt: 1, ran: 2 });
  });
  test('minDelta: smaller changes are not improvements', () => {
    expect(drive(earlyStopping({ patience: 1, minDelta: 0.05 }), [1, 0.97, 0.9])).toEqual({ stoppedAt: 1, ran: 2 });
    expect(drive(earlyStopping({ patience: 1, minDelta: 0.01 }), [1, 0.97, 0.9, 0.95])).toEqual({ stoppedAt: 3, ran: 4 });
  });
  test('mode: auto picks max for accuracy, min otherwise; explicit max', () => {
    const es = earlyStopping({ monitor: 'val_accuracy', patience: 1 });
    expect(es.mode).toBe('max');
    expect(drive(es, [0.5, 0.6, 0.55, 0.7], 'val_accuracy')).toEqual({ stoppedAt: 2, ran: 3 });
    expect(es.bestEpoch).toBe(1);
    expect(es.best).toBe(0.6);
    expect(drive(earlyStopping({ monitor: 'score', mode: 'max', patience: 1 }), [1, 2, 3, 2.5], 'score')).toEqual({ stoppedAt: 3, ran: 4 });
  });
  test('baseline: improvements that do not beat it do not reset the wait', () => {
    expect(drive(earlyStopping({ patience: 2, baseline: 0.5 }), [0.8, 0.7, 0.75, 0.74])).toEqual({ stoppedAt: 2, ran: 3 });
    expect(drive(earlyStopping({ patience: 2 }), [0.8, 0.7, 0.75, 0.74])).toEqual({ stoppedAt: 3, ran: 4 });
  });
  test('invalid options are rejected with the message template', () => {
    expect(() => earlyStopping({ patience: -1 })).toThrow(new RangeError('Expected an integer >= 0 for patience but received -1'));
    expect(() => earlyStopping({ mode: 'up' as never })).toThrow("Expected one of 'min', 'max', 'auto' for mode but received \"up\"");
    expect(() => earlyStopping({ patince: 1 } as never)).toThrow(/patince/);
  });
});

/** Records weights and values at every epoch end. */
class Recorder implements Callback {
  weights: NamedWeights[] = [];
  logs: Record<string, number>[] = [];
  constructor(private readonly m: Model) {}
  onEpochEnd(_e: number, logs: Record<string, number>): void {
    this.weights.push(cloneWeights(this.m.getWeights()));
    this.logs.push({ ...logs });
  }
}

describe('earlyStopping in fit', () => {
  test('stops after `patience` epochs without improvement and restores the best epoch’s weights', async () => {
    const m = regressionModel(1, 0.05);
    const d = regressionData(2);
    const v = regressionData(3, 32);
    const rec = new Recorder(m);
    // Ruin the weights at the start of epoch 4: val_loss gets worse from then on.
    const saboteur: Callback = {
      onEpochBegin: (e) => {
        if (e === 4) {
          const w = m.getWeights();
          for (const k of Object.keys(w)) w[k].data.fill(3);
          m.setWeights(w);
        }
      },
    };
    const es = earlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true });
    const h = await m.fit(d.x, d.y, { epochs: 20, batchSize: 16, seed: 1, validationData: [v.x, v.y], callbacks: [saboteur, rec, es] });
    const vl = h.history.val_loss;
    // The scenario holds: improving through epoch 3, worse after.
    for (let e = 1; e <= 3; e++) expect(vl[e]).toBeLessThan(vl[e - 1]);
    expect(vl[4]).toBeGreaterThan(vl[3]);
    expect(vl[5]).toBeGreaterThan(vl[3]);
    expect(h.epoch).toEqual([0, 1, 2, 3, 4, 5]);
    expect(es.stoppedEpoch).toBe(5);
    expect(es.bestEpoch).toBe(3);
    expect(es.best).toBe(vl[3]);
    expect(sameBits(m.getWeights(), rec.weights[3])).toBe(true);
    expect(sameBits(m.getWeights(), rec.weights[5])).toBe(false);
    // The restored model really is the epoch-3 model.
    const ev = await m.evaluate(v.x, v.y);
    expect(ev.loss).toBeCloseTo(vl[3], 5);
  });

  test('restoreBestWeights also applies when all epochs run', async () => {
    const m = regressionModel(4, 0.05);
    const d = regressionData(5);
    const rec = new Recorder(m);
    const saboteur: Callback = {
      onEpochBegin: (e) => {
        if (e === 2) {
          const w = m.getWeights();
          for (const k of Object.keys(w)) w[k].data.fill(2);
          m.setWeights(w);
        }
      },
    };
    const es = earlyStopping({ monitor: 'loss', patience: 10, restoreBestWeights: true });
    const h = await m.fit(d.x, d.y, { epochs: 4, batchSize: 64, shuffle: false, callbacks: [saboteur, rec, es] });
    expect(h.epoch).toEqual([0, 1, 2, 3]);
    expect(es.stoppedEpoch).toBe(-1);
    expect(es.bestEpoch).toBe(1);
    expect(sameBits(m.getWeights(), rec.weights[1])).toBe(true);
  });

  test('a missing monitored value rejects fit with a clear error; the model stays usable', async () => {
    const m = regressionModel(6);
    const d = regressionData(7);
    await expect(m.fit(d.x, d.y, { epochs: 3, callbacks: [earlyStopping()] })).rejects.toThrow(
      new RangeError("Expected the monitored value 'val_loss' in the epoch logs (available: loss, lr); add validation data or metrics, or change monitor"),
    );
    const h = await m.fit(d.x, d.y, { epochs: 2 });
    expect(h.epoch).toEqual([0, 1]);
  });
});

describe('stopping, awaiting and errors', () => {
  test('a callback setting model.stopTraining at an epoch end stops after that epoch', async () => {
    const m = regressionModel(8);
    const d = regressionData(9);
    const h = await m.fit(d.x, d.y, {
      epochs: 50,
      batchSize: 8,
      callbacks: [{ onEpochEnd: (e) => void (e === 2 && (m.stopTraining = true)) }],
    });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(m.optimizerStep).toBe(3 * 8);
  });

  test('model.stopTraining set in onBatchEnd stops training at the latest at the next epoch boundary', async () => {
    const m = regressionModel(10);
    const d = regressionData(11, 400);
    let batches = 0;
    const h = await m.fit(d.x, d.y, {
      epochs: 200,
      batchSize: 1,
      callbacks: [{ onBatchEnd: () => void (++batches === 5 && (m.stopTraining = true)) }],
    });
    expect(batches).toBeGreaterThanOrEqual(5);
    expect(h.epoch.length).toBeLessThan(3);
    expect(m.optimizerStep).toBeLessThan(3 * 400);
    // Batch events are not waited for, so the stop lands within the epoch or at its end.
    expect(m.optimizerStep).toBe(h.epoch.length * 400 + (m.optimizerStep % 400));
  });

  test('async epoch callbacks are awaited: training does not advance while they run', async () => {
    const m = regressionModel(12);
    const d = regressionData(13);
    const seen: string[] = [];
    const cb: Callback = {
      onTrainBegin: async () => {
        await new Promise((r) => setTimeout(r, 20));
        seen.push(`trainBegin step ${m.optimizerStep}`);
      },
      onEpochBegin: async (e) => {
        const before = m.optimizerStep;
        await new Promise((r) => setTimeout(r, 20));
        seen.push(`begin ${e} step ${before}->${m.optimizerStep}`);
      },
      onEpochEnd: async (e) => {
        const before = m.optimizerStep;
        await new Promise((r) => setTimeout(r, 30));
        const w = m.getWeights(); // readable while training waits
        expect(w['dense_1/kernel'].data.length).toBe(12);
        seen.push(`end ${e} step ${before}->${m.optimizerStep}`);
      },
      onTrainEnd: async () => {
        await new Promise((r) => setTimeout(r, 5));
        seen.push('trainEnd');
      },
    };
    const t0 = Date.now();
    await m.fit(d.x, d.y, { epochs: 3, batchSize: 32, callbacks: [cb] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 50 - 5);
    expect(seen).toEqual([
      'trainBegin step 0',
      'begin 0 step 0->0',
      'end 0 step 2->2',
      'begin 1 step 2->2',
      'end 1 step 4->4',
      'begin 2 step 4->4',
      'end 2 step 6->6',
      'trainEnd',
    ]);
  });

  test('a throwing epoch callback rejects fit with that error; the model stays usable', async () => {
    const m = regressionModel(14);
    const d = regressionData(15);
    const boom = new Error('boom at epoch 1');
    let epochsSeen = 0;
    await expect(
      m.fit(d.x, d.y, {
        epochs: 10,
        batchSize: 16,
        callbacks: [
          {
            onEpochEnd: (e) => {
              epochsSeen++;
              if (e === 1) throw boom;
            },
          },
        ],
      }),
    ).rejects.toBe(boom);
    expect(epochsSeen).toBe(2);
    expect(m.optimizerStep).toBe(2 * 4);
    const p = await m.predict(d.x);
    expect(p.shape).toEqual([64, 1]);
    const h = await m.fit(d.x, d.y, { epochs: 2, batchSize: 16 });
    expect(h.epoch).toEqual([0, 1]);
    expect(m.optimizerStep).toBe(4 * 4);
  });

  test('a throwing async onEpochBegin and a throwing onBatchEnd reject fit with their errors', async () => {
    const m = regressionModel(16);
    const d = regressionData(17);
    const e1 = new TypeError('async begin failed');
    await expect(m.fit(d.x, d.y, { epochs: 3, callbacks: [{ onEpochBegin: async () => Promise.reject(e1) }] })).rejects.toBe(e1);
    const e2 = new Error('batch failed');
    await expect(m.fit(d.x, d.y, { epochs: 3, batchSize: 4, callbacks: [{ onBatchEnd: () => { throw e2; } }] })).rejects.toBe(e2);
    const e3 = new Error('begin failed');
    await expect(m.fit(d.x, d.y, { epochs: 3, callbacks: [{ onTrainBegin: () => { throw e3; } }] })).rejects.toBe(e3);
    const ev = await m.evaluate(d.x, d.y);
    expect(Number.isFinite(ev.loss)).toBe(true);
    await m.trainOnBatch(d.x, d.y);
  });
});

describe('CsvLogger', () => {
  test('writes a header and one row per epoch equal to the history', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-csv-'));
    const file = path.join(dir, 'log.csv');
    try {
      const m = regressionModel(18);
      const d = regressionData(19);
      const h = await m.fit(d.x, d.y, { epochs: 3, batchSize: 16, validationSplit: 0.25, callbacks: [new CsvLogger(file)] });
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      expect(lines[0]).toBe('epoch,loss,val_loss,lr');
      expect(lines).toHaveLength(4);
      lines.slice(1).forEach((line, e) => {
        const [ep, loss, vloss, lr] = line.split(',').map(Number);
        expect(ep).toBe(e);
        expect(loss).toBe(h.history.loss[e]);
        expect(vloss).toBe(h.history.val_loss[e]);
        expect(lr).toBe(h.history.lr[e]);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
