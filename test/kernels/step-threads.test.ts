/**
 * The per-step kernels that split across the pool only above a size threshold: bias-gradient
 * column sums (native/kernels/reduce.cc, 8192 elements per task in 64-column tiles), activation
 * backward from the output (native/kernels/elementwise.cc, 16384 elements per task) and softmax
 * cross-entropy (native/kernels/loss.cc, 64-row chunks), layer and batch norm
 * (native/kernels/norm.cc, 16384 elements per task, rows or 64-column tiles). Each is checked on sizes just under, at
 * and just over its thresholds: bit-identical at 1 and 2 threads (column sums and cross-entropy
 * chunks are a fixed partition, the activation is elementwise), and against a float64 reference.
 */
import { getNumThreads, setNumThreads, tensor } from '../../lib';
import { binding } from '../../lib/native';
import { bufferOf } from '../../lib/tensor/tensor';
import { makeRng, randNormal, relErr } from '../helpers/numerics';
import { call, nbuf, read } from './kernel-call';

let threads0 = 1;
beforeAll(() => {
  threads0 = getNumThreads();
});
afterAll(() => setNumThreads(threads0));

/** Runs fn at 1 and at 2 threads and returns both results. */
function atOneAndTwo<T>(fn: () => T): [T, T] {
  setNumThreads(1);
  const one = fn();
  setNumThreads(2);
  const two = fn();
  setNumThreads(threads0);
  return [one, two];
}

describe('per-step kernels around their threading thresholds', () => {
  // rows x cols: rows * cols around 2 * 8192 and 4 * 8192, column counts around the 64-column tile.
  const COL_SUM_SHAPES: [number, number][] = [
    [255, 64],
    [256, 64],
    [128, 127],
    [128, 128],
    [129, 129],
    [64, 257],
    [127, 258],
    [1, 193],
    [16, 16],
  ];
  it.each(COL_SUM_SHAPES)('colSum [%i, %i] is identical at 1 and 2 threads and matches float64', (rows, cols) => {
    const b = binding();
    const rng = makeRng();
    const ld = cols + 3;
    const d = randNormal(rows * ld, 1, 0.25, rng);
    const init = randNormal(cols, 1, 0, rng);
    const x = nbuf(d);
    for (const accumulate of [false, true]) {
      const [one, two] = atOneAndTwo(() => {
        const out = nbuf(init.slice());
        b.colSum(x, rows, cols, ld, out, accumulate, false);
        return read(out, cols);
      });
      expect(Array.from(two)).toEqual(Array.from(one));
      const ref = new Float64Array(cols);
      for (let j = 0; j < cols; j++) {
        ref[j] = accumulate ? init[j] : 0;
        for (let i = 0; i < rows; i++) ref[j] += d[i * ld + j];
      }
      expect(relErr(one, ref)).toBeLessThan(1e-6);
    }
  });

  const ACT_SIZES = [16383, 16384, 32767, 32768, 32769, 49153, 65536 + 17];
  it.each(ACT_SIZES)('activation backward from the output (n = %i) is identical at 1 and 2 threads and matches float64', (n) => {
    const rng = makeRng();
    const z = randNormal(n, 2, 0, rng);
    const dy = randNormal(n, 1, 0, rng);
    for (const [index, f, d] of [
      [1, (v: number) => Math.max(v, 0), (y: number) => (y > 0 ? 1 : 0)],
      [6, Math.tanh, (y: number) => 1 - y * y],
    ] as const) {
      const y = Float32Array.from(z, f);
      const [yb, dyb] = [nbuf(y), nbuf(dy)];
      const [one, two] = atOneAndTwo(() => {
        const dz = nbuf(n);
        call('act_backward_from_output_f32', false, [yb, dyb, dz], [n, index]);
        return read(dz, n);
      });
      expect(Array.from(two)).toEqual(Array.from(one));
      const ref = Array.from(y, (v, i) => dy[i] * d(v));
      const dyNorm = Math.sqrt(dy.reduce((s, v) => s + v * v, 0));
      expect(relErr(one, ref, 1e-2 * dyNorm)).toBeLessThan(1e-4);
      // In place (dz aliases dy), as the backward pass calls it.
      const [one2, two2] = atOneAndTwo(() => {
        const g = nbuf(dy.slice());
        call('act_backward_from_output_f32', false, [yb, g, g], [n, index]);
        return read(g, n);
      });
      expect(Array.from(one2)).toEqual(Array.from(one));
      expect(Array.from(two2)).toEqual(Array.from(one));
    }
  });

  // rows: one chunk (< 128 rows, the calling thread alone), two and more 64-row chunks; rows * cols
  // under and over 2 * 4096 logits (two tasks from there).
  const XENT_SHAPES: [number, number][] = [
    [16, 3],
    [127, 31],
    [128, 32],
    [129, 33],
    [257, 17],
    [600, 10],
    [300, 40],
    [1024, 10],
  ];
  it.each(XENT_SHAPES)('sparse softmax cross-entropy [%i, %i] is identical at 1 and 2 threads and matches float64', (rows, cols) => {
    const b = binding();
    const rng = makeRng();
    const logits = randNormal(rows * cols, 3, 0, rng);
    const labels = Int32Array.from({ length: rows }, () => rng.int(cols));
    const lt = tensor(labels, [rows], 'int32');
    const lb = bufferOf(lt, 'labels');
    const x = nbuf(logits);
    const [one, two] = atOneAndTwo(() => {
      const g = nbuf(rows * cols);
      const loss = b.softmaxXent(x, null, lb, rows, cols, g, 1, false);
      return { loss, grad: read(g, rows * cols) };
    });
    expect(two.loss).toBe(one.loss);
    expect(Array.from(two.grad)).toEqual(Array.from(one.grad));
    let total = 0;
    const ref = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      let m = -Infinity;
      for (let j = 0; j < cols; j++) m = Math.max(m, logits[r * cols + j]);
      let s = 0;
      for (let j = 0; j < cols; j++) s += Math.exp(logits[r * cols + j] - m);
      total += m + Math.log(s) - logits[r * cols + labels[r]];
      for (let j = 0; j < cols; j++) ref[r * cols + j] = (Math.exp(logits[r * cols + j] - m) / s - (j === labels[r] ? 1 : 0)) / rows;
    }
    expect(Math.abs(one.loss - total / rows)).toBeLessThanOrEqual(1e-6 * (total / rows));
    expect(relErr(one.grad, ref)).toBeLessThan(1e-5);
    lt.dispose();
  });

  // rows x cols around 2 * 16384 elements and the 64-column tiles.
  const NORM_SHAPES: [number, number][] = [
    [255, 64],
    [256, 128],
    [128, 257],
    [513, 65],
    [7, 9],
  ];
  it.each(NORM_SHAPES)('layer and batch norm [%i, %i] are identical at 1 and 2 threads and match float64', (rows, cols) => {
    const rng = makeRng();
    const eps = 1e-3;
    const x = randNormal(rows * cols, 1.5, 0.3, rng);
    const gamma = randNormal(cols, 0.5, 1, rng);
    const beta = randNormal(cols, 0.5, 0, rng);
    const dy = randNormal(rows * cols, 1, 0, rng);
    const [xb, gb, bb, dyb] = [nbuf(x), nbuf(gamma), nbuf(beta), nbuf(dy)];
    const n = rows * cols;
    const [one, two] = atOneAndTwo(() => {
      const [sb, yb, dgb, dbb, dxb] = [nbuf(2 * rows), nbuf(n), nbuf(cols), nbuf(cols), nbuf(n)];
      call('layer_norm_forward_f32', false, [xb, gb, bb, sb, yb], [rows, cols], [eps]);
      call('layer_norm_backward_f32', false, [xb, sb, dyb, gb, dgb, dbb, dxb], [rows, cols]);
      const [mb, rb, vb, bnY, bdg, bdb, bdx] = [nbuf(cols), nbuf(cols), nbuf(cols), nbuf(n), nbuf(cols), nbuf(cols), nbuf(n)];
      call('batch_norm_forward_f32', false, [xb, gb, bb, mb, rb, vb, bnY], [rows, cols], [eps]);
      call('batch_norm_backward_f32', false, [xb, dyb, mb, rb, gb, bdg, bdb, bdx], [rows, cols, 0]);
      return [sb, yb, dgb, dbb, dxb, mb, rb, vb, bnY, bdg, bdb, bdx].map((b, i) => Array.from(read(b, [2 * rows, n, cols, cols, n, cols, cols, cols, n, cols, cols, n][i])));
    });
    expect(two).toEqual(one);
    // float64: layer norm output and batch-norm mean / output, from their definitions.
    const ln = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      let mu = 0;
      for (let j = 0; j < cols; j++) mu += x[r * cols + j];
      mu /= cols;
      let v = 0;
      for (let j = 0; j < cols; j++) v += (x[r * cols + j] - mu) ** 2;
      const rstd = 1 / Math.sqrt(v / cols + eps);
      for (let j = 0; j < cols; j++) ln[r * cols + j] = (x[r * cols + j] - mu) * rstd * gamma[j] + beta[j];
    }
    expect(relErr(one[1], ln, 1e-6)).toBeLessThan(2e-5);
    const mean = new Float64Array(cols), bn = new Float64Array(n);
    for (let j = 0; j < cols; j++) {
      let mu = 0;
      for (let r = 0; r < rows; r++) mu += x[r * cols + j];
      mu /= rows;
      let v = 0;
      for (let r = 0; r < rows; r++) v += (x[r * cols + j] - mu) ** 2;
      const rstd = 1 / Math.sqrt(v / rows + eps);
      mean[j] = mu;
      for (let r = 0; r < rows; r++) bn[r * cols + j] = (x[r * cols + j] - mu) * rstd * gamma[j] + beta[j];
    }
    expect(relErr(one[5], mean, 1e-6)).toBeLessThan(2e-5);
    expect(relErr(one[8], bn, 1e-6)).toBeLessThan(2e-5);
    // dbeta is the column sum of dy for both norms.
    const dbeta = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) dbeta[j] += dy[r * cols + j];
    expect(relErr(one[3], dbeta)).toBeLessThan(1e-5);
    expect(relErr(one[10], dbeta)).toBeLessThan(1e-5);
  });
});
