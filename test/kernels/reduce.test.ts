// Reductions against float64 references computed here, on fresh random inputs of awkward shapes,
// for the fast kernels (default and forced-portable dispatch, 1 and 2 threads) and the scalar _ref
// kernels. Bounds: relative error ||out - ref|| / ||ref|| < 1e-5 for float32 outputs (sums are
// accumulated in double, so the observed error is float32 rounding, ~1e-8); 1e-12 for the
// double-precision sumSquares / dot; max / min / argmax are exact.
import {
  argmax,
  columnSums,
  dot,
  getForcePortable,
  getNumThreads,
  max,
  mean,
  min,
  setForcePortable,
  setNumThreads,
  sum,
  sumSquares,
  Tensor,
  tensor,
} from '../../lib';
import { binding } from '../../lib/native';
import { bufferOf } from '../../lib/tensor/tensor';

const bufOf = (t: Tensor) => bufferOf(t, 't');

type Op = 'sum' | 'mean' | 'max' | 'min';
const OPS: Op[] = ['sum', 'mean', 'max', 'min'];
const OP_CODE: Record<Op, 0 | 1 | 2 | 3> = { sum: 0, mean: 1, max: 2, min: 3 };
const API = { sum, mean, max, min };

function randn(n: number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * (Math.random() * 2 - 1);
  return a;
}

function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(out.length).toBe(ref.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Exact equality (float32 results of exact ops, indices) without building big diff arrays. */
function mismatches(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let bad = 0;
  for (let i = 0; i < ref.length; i++) if (!Object.is(got[i], Math.fround(ref[i]))) bad++;
  return bad;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** float64 references of every reduction of x viewed as [outer, axis, inner], in one pass. */
function refAll(x: Float32Array, outer: number, axis: number, inner: number): Record<Op | 'argmax', Float64Array> {
  const n = outer * inner;
  const r = { sum: new Float64Array(n), mean: new Float64Array(n), max: new Float64Array(n), min: new Float64Array(n), argmax: new Float64Array(n) };
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let s = 0;
      let hi = -Infinity;
      let lo = Infinity;
      let best = 0;
      for (let a = 0; a < axis; a++) {
        const v = x[(o * axis + a) * inner + j];
        s += v;
        if (v > hi) {
          hi = v;
          best = a;
        }
        if (v < lo) lo = v;
      }
      const k = o * inner + j;
      r.sum[k] = s;
      r.mean[k] = s / axis;
      r.max[k] = hi;
      r.min[k] = lo;
      r.argmax[k] = best;
    }
  }
  return r;
}

function refReduce(op: Op | 'argmax', x: Float32Array, outer: number, axis: number, inner: number): Float64Array {
  return refAll(x, outer, axis, inner)[op];
}

function view(shape: readonly number[], axis?: number): [number, number, number] {
  if (axis === undefined) return [1, size(shape), 1];
  const ax = axis < 0 ? axis + shape.length : axis;
  return [size(shape.slice(0, ax)), shape[ax], size(shape.slice(ax + 1))];
}

const MODES = [
  { name: 'fast, 2 threads', portable: false, threads: 2 },
  { name: 'fast, 1 thread', portable: false, threads: 1 },
  { name: 'portable, 2 threads', portable: true, threads: 2 },
  { name: 'portable, 1 thread', portable: true, threads: 1 },
];

// [shape, axes to reduce over (undefined = whole tensor)]
const CASES: Array<[number[], Array<number | undefined>]> = [
  [[1], [undefined, 0]],
  [[7], [undefined, -1]],
  [[100003], [undefined, 0]],
  [[1000, 37], [undefined, 0, 1, -1]],
  [[37, 1000], [0, 1]],
  [[3, 70001], [undefined, 1, 0]], // few long rows: chunked axis
  [[5, 3, 300], [1, 2, 0]], // inner > one column tile
  [[2, 3, 5, 7], [undefined, 0, 1, 2, 3, -2]],
  [[1, 1, 1], [1]],
];

describe('reductions', () => {
  const threads0 = getNumThreads();
  const portable0 = getForcePortable();
  afterEach(() => {
    setNumThreads(threads0);
    setForcePortable(portable0);
  });

  describe.each(MODES)('$name', ({ portable, threads }) => {
    beforeEach(() => {
      setForcePortable(portable);
      setNumThreads(threads);
    });

    it.each(CASES)('sum, mean, max, min, argmax of shape %j', (shape, axes) => {
      const data = randn(size(shape), 2, 0.5);
      const x = tensor(data, shape);
      for (const axis of axes) {
        const [o, a, i] = view(shape, axis);
        const outShape = axis === undefined ? [] : shape.filter((_, k) => k !== (axis < 0 ? axis + shape.length : axis));
        const refs = refAll(data, o, a, i);
        for (const op of OPS) {
          const out = API[op](x, axis);
          expect(out.shape).toEqual(outShape);
          const ref = refs[op];
          const got = out.data();
          if (op === 'sum' || op === 'mean') expect(relErr(got, ref)).toBeLessThan(1e-5);
          else expect(mismatches(got, ref)).toBe(0);
          out.dispose();
        }
        const am = argmax(x, axis);
        expect(am.dtype).toBe('int32');
        expect(mismatches(am.data(), refs.argmax)).toBe(0);
        am.dispose();
      }
      x.dispose();
    });

    it('sumSquares and dot accumulate in double', () => {
      for (const n of [0, 1, 7, 8, 9, 1000, 100003, 300007]) {
        const a = randn(n, 3);
        const b = randn(n, 3);
        let ss = 0;
        let dt = 0;
        for (let i = 0; i < n; i++) {
          ss += a[i] * a[i];
          dt += a[i] * b[i];
        }
        const ta = tensor(a, [n]);
        const tb = tensor(b, [n]);
        const gotSs = sumSquares(ta);
        const gotDt = dot(ta, tb);
        expect(Math.abs(gotSs - ss)).toBeLessThanOrEqual(1e-12 * Math.max(ss, 1e-300));
        expect(Math.abs(gotDt - dt)).toBeLessThanOrEqual(1e-12 * Math.max(ss, 1e-300));
        ta.dispose();
        tb.dispose();
      }
    });

    it('columnSums matches a float64 reference', () => {
      for (const [r, c] of [
        [0, 3],
        [3, 0],
        [1, 1],
        [1000, 37],
        [13, 257],
        [4099, 5],
      ]) {
        const d = randn(r * c);
        const t = tensor(d, [r, c]);
        const out = columnSums(t);
        expect(out.shape).toEqual([c]);
        expect(relErr(out.data(), refReduce('sum', d, 1, r, c))).toBeLessThan(1e-5);
        t.dispose();
        out.dispose();
      }
    });
  });

  it('results do not depend on the thread count', () => {
    const data = randn(3 * 100003, 4, 1);
    const x = tensor(data, [3, 100003]);
    const run = (): number[][] => {
      const outs = [sum(x), sum(x, 1), mean(x, 0), max(x, 1), argmax(x, 1), argmax(x)];
      const r = outs.map((t) => Array.from(t.data()));
      outs.forEach((t) => t.dispose());
      return [...r, [sumSquares(x), dot(x, x)]];
    };
    setNumThreads(1);
    const one = run();
    setNumThreads(2);
    const two = run();
    expect(two).toEqual(one);
    x.dispose();
  });

  it('the scalar _ref kernels match the float64 reference', () => {
    const b = binding();
    for (const [shape, axis] of [
      [[1000, 37], 0],
      [[1000, 37], 1],
      [[3, 5, 7], 1],
      [[100003], 0],
    ] as Array<[number[], number]>) {
      const data = randn(size(shape));
      const x = tensor(data, shape);
      const [o, a, i] = view(shape, axis);
      for (const op of OPS) {
        const out = new b.NativeBuffer(0, o * i);
        b.reduce(OP_CODE[op], bufOf(x), o, a, i, out, true);
        const ref = refReduce(op, data, o, a, i);
        if (op === 'sum' || op === 'mean') expect(relErr(out.read(), ref)).toBeLessThan(1e-5);
        else expect(Array.from(out.read())).toEqual(Array.from(Float32Array.from(ref)));
      }
      const idx = new b.NativeBuffer(1, o * i);
      b.argmax(bufOf(x), o, a, i, idx, true);
      expect(Array.from(idx.read())).toEqual(Array.from(refReduce('argmax', data, o, a, i)));
      let ss = 0;
      for (const v of data) ss += v * v;
      expect(Math.abs(b.sumSquares(bufOf(x), data.length, true) - ss)).toBeLessThanOrEqual(1e-12 * ss);
      expect(Math.abs(b.dot(bufOf(x), bufOf(x), data.length, true) - ss)).toBeLessThanOrEqual(1e-12 * ss);
      x.dispose();
    }
  });

  it('colSum honours a row stride and accumulate, fast and _ref', () => {
    const b = binding();
    const rows = 301;
    const cols = 70;
    const ld = 83;
    const d = randn(rows * ld);
    const x = tensor(d, [rows, ld]);
    const init = randn(cols);
    for (const useRef of [false, true]) {
      for (const accumulate of [false, true]) {
        const out = new b.NativeBuffer(0, cols);
        out.write(init);
        b.colSum(bufOf(x), rows, cols, ld, out, accumulate, useRef);
        const ref = new Float64Array(cols);
        for (let j = 0; j < cols; j++) {
          ref[j] = accumulate ? init[j] : 0;
          for (let i = 0; i < rows; i++) ref[j] += d[i * ld + j];
        }
        expect(relErr(out.read(), ref)).toBeLessThan(1e-5);
      }
    }
    x.dispose();
  });

  it('max and min propagate NaN; argmax takes the first maximum or the first NaN', () => {
    const b = binding();
    const t = tensor([
      [1, 3, 3, 2],
      [NaN, 1, 5, NaN],
      [4, 4, 4, 4],
    ]);
    for (const useRef of [false, true]) {
      const mx = new b.NativeBuffer(0, 3);
      b.reduce(2, bufOf(t), 3, 4, 1, mx, useRef);
      const got = Array.from(mx.read());
      expect(got[0]).toBe(3);
      expect(Number.isNaN(got[1])).toBe(true);
      expect(got[2]).toBe(4);
      const idx = new b.NativeBuffer(1, 3);
      b.argmax(bufOf(t), 3, 4, 1, idx, useRef);
      expect(Array.from(idx.read())).toEqual([1, 0, 0]);
      const idx0 = new b.NativeBuffer(1, 4);
      b.argmax(bufOf(t), 1, 3, 4, idx0, useRef);
      expect(Array.from(idx0.read())).toEqual([1, 2, 1, 1]);
    }
    // A NaN deep inside a long row (the chunked path) still wins.
    const long = randn(200003);
    long[150001] = NaN;
    const lt = tensor(long, [1, 200003]);
    expect(Number.isNaN(max(lt).data()[0])).toBe(true);
    expect(Number.isNaN(min(lt, 1).data()[0])).toBe(true);
    expect(argmax(lt, 1).data()[0]).toBe(150001);
    t.dispose();
    lt.dispose();
  });

  it('handles empty tensors: sum 0, mean NaN, empty outputs', () => {
    const e = tensor(new Float32Array(0), [0, 4]);
    expect(sum(e).toArray()).toBe(0);
    expect(Number.isNaN(mean(e).toArray() as number)).toBe(true);
    expect(Array.from(sum(e, 0).data())).toEqual([0, 0, 0, 0]);
    expect(sum(e, 1).shape).toEqual([0]);
    expect(max(e, 1).shape).toEqual([0]);
    expect(argmax(e, 1).shape).toEqual([0]);
    expect(columnSums(e).toArray()).toEqual([0, 0, 0, 0]);
    expect(sumSquares(e)).toBe(0);
  });

  it('keepDims keeps the reduced axes as size 1', () => {
    const x = tensor(randn(2 * 3 * 4), [2, 3, 4]);
    expect(sum(x, 1, { keepDims: true }).shape).toEqual([2, 1, 4]);
    expect(max(x, -1, { keepDims: true }).shape).toEqual([2, 3, 1]);
    expect(mean(x, undefined, { keepDims: true }).shape).toEqual([1, 1, 1]);
    expect(argmax(x, 0, { keepDims: true }).shape).toEqual([1, 3, 4]);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(() => sum([1, 2] as unknown as Tensor)).toThrow(new TypeError('Expected a Tensor for x but received an array of length 2'));
    expect(() => sum(tensor(new Int32Array([1, 2])))).toThrow(new TypeError('Expected a float32 Tensor for x but received an int32 Tensor'));
    expect(() => sum(x, 1.5)).toThrow(new RangeError('Expected an integer for axis but received 1.5'));
    expect(() => sum(x, '1' as unknown as number)).toThrow(new TypeError('Expected an integer for axis but received "1"'));
    expect(() => mean(x, 2)).toThrow(new RangeError('Expected an integer in [-2, 1] for axis but received 2'));
    expect(() => max(x, -3)).toThrow(new RangeError('Expected an integer in [-2, 1] for axis but received -3'));
    expect(() => sum(tensor(3), 0)).toThrow(new RangeError('Expected no axis (x is a scalar Tensor) for axis but received 0'));
    expect(() => max(tensor(new Float32Array(0), [0]))).toThrow(
      new RangeError('Expected a Tensor with a non-empty reduction axis for x but received a Tensor of shape [0]'),
    );
    expect(() => argmax(tensor(new Float32Array(0), [2, 0]), 1)).toThrow(
      new RangeError('Expected a Tensor with a non-empty reduction axis for x but received a Tensor of shape [2, 0]'),
    );
    expect(() => sum(x, 0, { keepdims: true } as unknown as { keepDims: boolean })).toThrow(
      new RangeError('Expected only the options \'keepDims\' for options but received an option \'keepdims\''),
    );
    expect(() => sum(x, 0, { keepDims: 1 as unknown as boolean })).toThrow(new TypeError('Expected a boolean for options.keepDims but received 1'));
    expect(() => dot(x, tensor([1, 2, 3, 4]))).toThrow(new RangeError('Expected a Tensor of shape [2, 2] for y but received a Tensor of shape [4]'));
    expect(() => columnSums(tensor([1, 2]))).toThrow(new RangeError('Expected a Tensor of rank 2 for x but received a Tensor of shape [2]'));
    const gone = tensor([1, 2]);
    gone.dispose();
    expect(() => sum(gone)).toThrow('Expected a live Tensor for x but received a disposed Tensor');
    expect(() => sumSquares(gone)).toThrow('Expected a live Tensor for x but received a disposed Tensor');
  });

  it('the binding rejects inconsistent sizes without crashing', () => {
    const b = binding();
    const small = new b.NativeBuffer(0, 4);
    const out = new b.NativeBuffer(0, 1);
    expect(() => b.reduce(0, small, 1, 5, 1, out, false)).toThrow('Expected at least 5 elements in x but it has 4');
    expect(() => b.reduce(2, small, 1, 0, 1, out, false)).toThrow('reduce: max, min and argmax need a non-empty axis');
    expect(() => b.argmax(small, 1, 4, 1, out, false)).toThrow('Expected a int32 buffer for out');
    expect(() => b.colSum(small, 2, 3, 2, out, false, false)).toThrow('Expected ldx to be at least cols');
    expect(() => b.reduce(7 as 0, small, 1, 4, 1, out, false)).toThrow('Expected an integer in [0, 3] for op');
  });
});
