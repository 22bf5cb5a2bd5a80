/**
 * Streamed data sets (native/engine/data_stream.h): the host-side plan (budget, chunk sizes, which
 * rows go in which chunk) and the streamed fit loop. The loop runs on the CPU here through the
 * model's data-budget test hook, with plain copies in place of the device's pinned double-buffered
 * uploads; its batches hold the same rows in the same order as the resident path's, so a streamed
 * fit must reproduce a resident one bit for bit. The GPU run is scripts/device/train_parity.js.
 */
import { adam, batchNormalization, dense, sequential, sgd } from '../../lib';
import { binding } from '../../lib/native';
import { makeRng } from '../helpers/numerics';

type Plan = ReturnType<ReturnType<typeof binding>['dataStreamPlan']>;

function codeOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: string };
    return { code: err.code, message: err.message };
  }
  throw new Error('expected a throw');
}

describe('data stream plan', () => {
  const plan = (rows: number, rowBytes: number, batch: number, budget: number): Plan =>
    binding().dataStreamPlan(rows, rowBytes, batch, budget);

  it('uploads a set whole exactly when it fits the budget', () => {
    expect(plan(100, 12, 7, 1200).streamed).toBe(false);
    expect(plan(100, 12, 7, 1199).streamed).toBe(true);
    expect(plan(1, 4, 1, 4).streamed).toBe(false);
  });

  it('streams in chunks of whole batches, two of which fit the budget, covering every row once', () => {
    const rng = makeRng();
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + Math.floor(rng.next() * 5000);
      const rowBytes = 4 * (1 + Math.floor(rng.next() * 97));
      const batch = 1 + Math.floor(rng.next() * 130);
      const total = rows * rowBytes;
      const budget = Math.max(1, Math.floor(rng.next() * total * 1.2));
      const p = plan(rows, rowBytes, batch, budget);
      const ctx = `rows ${rows} rowBytes ${rowBytes} batch ${batch} budget ${budget}`;
      expect([ctx, p.streamed]).toEqual([ctx, total > budget]);
      if (!p.streamed) continue;
      // The largest whole number of batches per chunk with two chunks within the budget, at least one.
      const perChunk = Math.floor(Math.floor(budget / 2) / rowBytes);
      const want = Math.min(rows, Math.max(1, Math.floor(perChunk / batch)) * batch);
      expect([ctx, p.chunkRows]).toEqual([ctx, want]);
      if (p.chunkRows > batch) expect(2 * p.chunkRows * rowBytes).toBeLessThanOrEqual(budget);
      expect(p.chunks).toBe(Math.ceil(rows / p.chunkRows));
      expect(p.ranges.length).toBe(p.chunks);
      let next = 0;
      for (const [b, e] of p.ranges) {
        expect(b).toBe(next);
        expect(e).toBeGreaterThan(b);
        if (e < rows) expect((e - b) % batch).toBe(0);  // only the last chunk may end mid-batch
        next = e;
      }
      expect(next).toBe(rows);
    }
  });

  it('takes the budget from NODETRAIN_CUDA_DATA_BUDGET, else three quarters of the free memory', () => {
    expect(binding().dataStreamPlan(10, 4, 2, 0, '1000', 0).budget).toBe(1000);
    expect(binding().dataStreamPlan(10, 4, 2, 0, '39', 0).streamed).toBe(true);
    expect(binding().dataStreamPlan(10, 4, 2, 0, null, 4000).budget).toBe(3000);
    expect(binding().dataStreamPlan(10, 4, 2, 0, null, 4001).budget).toBe(3000);
    for (const bad of ['abc', '0', '-5', '12x', ' 7', '1e9']) {
      const e = codeOf(() => binding().dataStreamPlan(10, 4, 2, 0, bad, 0));
      expect(e.code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
      expect(e.message).toBe(`Expected a whole number of bytes > 0 for NODETRAIN_CUDA_DATA_BUDGET but received "${bad}"`);
    }
  });

  it('rejects empty sets, rows and batches in the message template', () => {
    expect(codeOf(() => plan(0, 4, 1, 10)).message).toBe('Expected at least one row for the streamed data but received 0');
    expect(codeOf(() => plan(5, 0, 1, 10)).message).toBe('Expected a row size > 0 for the streamed data but received 0');
    expect(codeOf(() => plan(5, 4, 0, 10)).message).toBe('Expected a batch size >= 1 for the streamed data but received 0');
  });
});

describe('streamed fit on the CPU', () => {
  const rows = 203;  // prime: the last batch and the last chunk are short
  const inW = 7;
  const classes = 3;

  function data(seed: number) {
    const rng = makeRng(seed);
    const x = Array.from({ length: rows }, () => Array.from({ length: inW }, () => Math.fround(rng.next() * 2 - 1)));
    const labels = Array.from({ length: rows }, () => Math.floor(rng.next() * classes));
    const y = labels.map((c) => Array.from({ length: classes }, (_, j) => (j === c ? 1 : 0)));
    const w = Array.from({ length: rows }, () => Math.fround(0.5 + rng.next()));
    return { x, labels, y, w };
  }

  const build = (bn: boolean) =>
    sequential(
      [
        dense({ units: 11, activation: 'relu', inputShape: [inW] }),
        ...(bn ? [batchNormalization({})] : []),
        dense({ units: classes, activation: 'softmax' }),
      ],
      { seed: 5 },
    );

  const cases = [
    { name: 'sparse labels, Adam, shuffled, sample weights, validation', sparse: true, bn: false, shuffle: true },
    { name: 'one-hot targets, SGD momentum + clipNorm, batch norm, unshuffled', sparse: false, bn: true, shuffle: false },
  ];
  for (const c of cases) {
    it(`reproduces the resident fit bit for bit: ${c.name}`, async () => {
      const seed = (Math.random() * 2 ** 31) >>> 0;
      const d = data(seed);
      const val = data(seed + 1);
      const run = async (budget: number, deferred = false) => {
        const m = build(c.bn);
        m.compile({
          optimizer: c.sparse ? adam({ lr: 0.01 }) : sgd({ lr: 0.05, momentum: 0.9, clipNorm: 0.5 }),
          loss: c.sparse ? 'sparseCategoricalCrossentropy' : 'categoricalCrossentropy',
          metrics: ['accuracy'],
        });
        if (budget) m.setDataBudget(budget);
        if (deferred) m.useHostDeferredUpdate(3);
        const h = await m.fit(d.x, c.sparse ? d.labels : d.y, {
          epochs: 3,
          batchSize: 16,
          seed: 9,
          shuffle: c.shuffle,
          verbose: 0,
          ...(c.sparse
            ? { sampleWeight: d.w, validationData: [val.x, val.labels] as [number[][], number[]] }
            : {}),
        });
        const ev = await m.evaluate(val.x, c.sparse ? val.labels : val.y);
        const w = m.getWeights();
        return { h: h.history, ev, w: Object.keys(w).map((k) => Array.from(w[k].data)) };
      };
      const resident = await run(0);
      // Row bytes: 7 features + (1 label + 1 weight | 3 targets) floats. 700 bytes: chunks of
      // 16 rows (2 x 16 x 40 <= 700) or 16 rows (2 x 16 x 36 <= 700): many chunks, a short last one.
      const streamed = await run(700);
      expect(streamed.h).toEqual(resident.h);
      expect(streamed.ev).toEqual(resident.ev);
      expect(streamed.w).toEqual(resident.w);
      // A budget of less than two batches still trains (one batch per chunk).
      const tiny = await run(8);
      expect(tiny.w).toEqual(resident.w);
      // The device-resident update's path (stats read back from a ring of 3) streams the same.
      const deferred = await run(3000, true);
      expect(deferred).toEqual(resident);
    });
  }

  it('the guard recovers the same way from a non-finite step on a streamed set', async () => {
    const d = data(17);
    const run = async (budget: number, deferred = false) => {
      const m = build(false);
      m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
      if (budget) m.setDataBudget(budget);
      if (deferred) m.useHostDeferredUpdate();
      m.injectNonFinite([5, 6]);
      const h = await m.fit(d.x, d.labels, { epochs: 2, batchSize: 16, seed: 2, verbose: 0, divergenceGuard: { snapshotEvery: 3 } });
      const w = m.getWeights();
      return { h: h.history, w: Object.keys(w).map((k) => Array.from(w[k].data)) };
    };
    const resident = await run(0);
    const streamed = await run(1000);
    expect(streamed).toEqual(resident);
    // Deferred checks over chunks of two batches: a rollback found at a chunk's last batch
    // resumes inside that chunk.
    expect(await run(3000, true)).toEqual(resident);
    expect(await run(0, true)).toEqual(resident);
  });

  it('setDataBudget rejects a budget that is not a whole number of bytes', () => {
    const m = build(false);
    m.compile({ optimizer: adam(), loss: 'sparseCategoricalCrossentropy' });
    for (const bad of [-1, 1.5, NaN]) expect(codeOf(() => m.setDataBudget(bad)).code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
  });
});
