/**
 * The one-shot supernet: candidates run on the supernet's own plan (slimmable dense layers over
 * one arena), so a candidate's forward pass is checked against a float64 forward pass computed
 * from the top-left blocks of the supernet's arena; a slimmed training step changes only the
 * candidate's blocks; a search is deterministic for its seed and reports rank correlations.
 */
import * as nas from '../../lib/nas';
import { internalsOf } from '../../lib/model/internals';
import { bufferOf } from '../../lib/tensor/tensor';
import * as nt from '../../lib';

const base = { activations: 'relu', dropout: 0, skip: false, optimizers: 'adam', lr: 2e-3, batchSize: 32, weightDecay: 0 } as const;
const spec = (normalization: 'none' | 'batch'): nas.MlpObjectiveSpec => ({
  data: { kind: 'digits', trainSize: 400, testSize: 100, seed: 0 },
  space: { ...base, depth: [1, 3], widths: [8, 13, 24], normalization },
  epochs: 2,
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Float64 forward of candidate `c` from the supernet arena (dense layers, relu, softmax head). */
function reference(arena: Float32Array, info: { name: string; offset: number; shape: number[] }[], x: Float32Array, rows: number, inputs: number, c: nas.TrialParams): Float64Array {
  const kernels = info.filter((p) => p.name.endsWith('/kernel')).sort((a, b) => a.offset - b.offset);
  const biases = info.filter((p) => p.name.endsWith('/bias')).sort((a, b) => a.offset - b.offset);
  const depth = c.depth as number;
  const layers = [...Array.from({ length: depth }, (_, i) => i), kernels.length - 1];
  let h = Float64Array.from(x);
  let kin = inputs;
  for (const li of layers) {
    const [, full] = kernels[li].shape;
    const kout = li === kernels.length - 1 ? full : (c[`width_${li + 1}`] as number);
    const out = new Float64Array(rows * kout);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < kout; j++) {
        let s = arena[biases[li].offset + j];
        for (let k = 0; k < kin; k++) s += h[r * kin + k] * arena[kernels[li].offset + k * full + j];
        out[r * kout + j] = li === kernels.length - 1 ? s : Math.max(0, s);
      }
    if (li === kernels.length - 1)
      for (let r = 0; r < rows; r++) {
        let mx = -Infinity;
        for (let j = 0; j < kout; j++) mx = Math.max(mx, out[r * kout + j]);
        let z = 0;
        for (let j = 0; j < kout; j++) z += Math.exp(out[r * kout + j] - mx);
        for (let j = 0; j < kout; j++) out[r * kout + j] = Math.exp(out[r * kout + j] - mx) / z;
      }
    h = out;
    kin = kout;
  }
  return h;
}

test('a candidate computes on the top-left blocks of the supernet arena (depth and width slimmed)', async () => {
  const sp = spec('none');
  const space = nas.mlpSpace(sp.space);
  const s = nas.supernetStrategy(space, sp, { epochs: 1 });
  await s.train({ space, seed: 3 });
  expect(s.maxWidths).toEqual([24, 24, 24]);
  const native = internalsOf(s.model).plan();
  const info = native.paramInfo();
  const data = await nas.loadData(sp);
  const rows = 7;
  const xs = data.val.slice(0, rows);
  const x = Float32Array.from(xs.x.data());
  for (const c of [{ depth: 1, width_1: 13 }, { depth: 2, width_1: 8, width_2: 24 }, { depth: 3, width_1: 24, width_2: 13, width_3: 8 }] as nas.TrialParams[]) {
    const full = space.resolve(c);
    native.setActiveWidths(s.activeWidths(c));
    const arena = s.model.getWeightArena();
    const out = await s.model.predict(xs.x);
    const ref = reference(arena, info, x, rows, data.inputs, full);
    expect(relErr(out.data() as Float32Array, ref)).toBeLessThan(1e-5);
    out.dispose();
  }
  // Changing a weight outside the candidate's blocks changes nothing; inside, it does.
  native.setActiveWidths(s.activeWidths({ depth: 1, width_1: 8 }));
  const k0 = info.find((p) => p.name.endsWith('/kernel'))!;
  const before = (await s.model.predict(xs.x)).data() as Float32Array;
  const arena = s.model.getWeightArena();
  arena[k0.offset + 30 * 24 + 20] += 5; // column 20 >= 8: unused
  arena[info.find((p) => p.name.endsWith('/bias'))!.offset + 9] += 5;
  s.model.setWeightArena(arena);
  expect((await s.model.predict(xs.x)).data()).toEqual(before);
  const b0 = info.find((p) => p.name.endsWith('/bias'))!;
  arena[b0.offset + 2] += 5; // unit 2 < 8: used
  s.model.setWeightArena(arena);
  expect(relErr((await s.model.predict(xs.x)).data() as Float32Array, before)).toBeGreaterThan(1e-4);
  native.setActiveWidths([]);
  xs.x.dispose();
  xs.y.dispose();
});

test('a slimmed training step updates only the candidate blocks of the shared arena', async () => {
  const sp = spec('batch');
  const space = nas.mlpSpace(sp.space);
  const s = nas.supernetStrategy(space, sp, { epochs: 1 });
  await s.train({ space, seed: 4 });
  const native = internalsOf(s.model).planForBatch(32);
  const info = native.paramInfo();
  const data = await nas.loadData(sp);
  const b = data.train.slice(0, 32);
  native.setActiveWidths(s.activeWidths({ depth: 2, width_1: 13, width_2: 8, activation_2: 'relu' }));
  // Fresh moments: Adam's state from the supernet's training would still move the other blocks.
  native.resetOptimizer();
  const w0 = s.model.getWeightArena();
  await native.trainBatch(bufferOf(b.x, 'x'), bufferOf(b.y, 'y'), 32, data.inputs);
  const w1 = s.model.getWeightArena();
  const g = native.readGrads();
  const kernels = info.filter((p) => p.name.endsWith('/kernel')).sort((a, c) => a.offset - c.offset);
  const active = [[data.inputs, 13], [13, 8], [0, 0], [8, 10]]; // rows x columns used of each kernel
  kernels.forEach((k, li) => {
    const [rowsK, cols] = k.shape;
    let inside = 0;
    for (let r = 0; r < rowsK; r++)
      for (let j = 0; j < cols; j++) {
        const i = k.offset + r * cols + j;
        const used = r < active[li][0] && j < active[li][1];
        if (used) inside += w1[i] !== w0[i] ? 1 : 0;
        else {
          expect(g[i]).toBe(0);
          expect(w1[i]).toBe(w0[i]);
        }
      }
    if (active[li][0] > 0) expect(inside).toBeGreaterThan(0);
  });
  native.setActiveWidths([]);
  b.x.dispose();
  b.y.dispose();
});

test('active widths are checked', async () => {
  const sp = spec('batch');
  const space = nas.mlpSpace(sp.space);
  const s = nas.supernetStrategy(space, sp, { epochs: 1 });
  await s.train({ space, seed: 5 });
  const native = internalsOf(s.model).plan();
  const w = s.activeWidths({ depth: 1, width_1: 8 });
  expect(() => native.setActiveWidths([1, 2])).toThrow(/Expected \d+ active widths \(one per node\) but received 2/);
  const big = w.slice();
  big[big.indexOf(8)] = 25;
  expect(() => native.setActiveWidths(big)).toThrow(/Expected an active width in \[-1, 24\] for layer '.*' but received 25/);
  const out = w.slice();
  out[out.length - 1] = -1;
  expect(() => native.setActiveWidths(out)).toThrow(/Expected a single-input hidden layer to bypass/);
  expect(() => new nas.SlimmableSupernet(nas.mlpSpace({ ...sp.space, activations: ['relu', 'tanh'] }), sp)).toThrow(/Expected a space that searches only depth and widths for the one-shot supernet but received a searched "activation_1"/);
  expect(() => new nas.SlimmableSupernet(nas.mlpSpace({ ...sp.space, skip: 'search' }), sp)).toThrow(/Expected skip: false/);
});

test('one-shot search: deterministic for a seed, retrains the top and a held-out sample, reports rank correlations', async () => {
  const sp = spec('batch');
  const run = async (): Promise<nas.OneShotResult> => {
    const objective = nas.mlpObjective(sp);
    const study = await nas.createStudy({ space: objective.space, objectives: { name: 'accuracy', direction: 'maximize' }, objective, seed: 9 });
    return nas.oneShotSearch(study, nas.supernetStrategy(objective.space, sp, { epochs: 2, calibrationBatches: 4 }), { retrainTop: 2, heldOut: 4 });
  };
  const a = await run();
  const b = await run();
  expect(a.candidates).toHaveLength(39);
  expect(a.scores).toEqual(b.scores);
  expect(a.retrained.map((t) => t.values)).toEqual(b.retrained.map((t) => t.values));
  expect(a.retrained).toHaveLength(6);
  expect(a.kendallTau).toBeGreaterThanOrEqual(-1);
  expect(a.kendallTau).toBeLessThanOrEqual(1);
  expect(a.kendallTau).toBe(nas.kendallTau(a.retrained.map((t) => a.scores[a.candidates.findIndex((c) => a.optimize.trials.length > 0 && nas.mlpSpace(sp.space).key(c) === nas.mlpSpace(sp.space).key(t.params))]), a.retrained.map((t) => t.values![0])));
  expect(Number.isFinite(a.spearman)).toBe(true);
  // Scores are validation accuracies with inherited weights: better than chance for the widest.
  expect(Math.max(...a.scores)).toBeGreaterThan(0.2);
  void nt;
});
