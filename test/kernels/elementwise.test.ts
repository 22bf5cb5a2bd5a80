// Elementwise kernels against float64 references computed here, on fresh random inputs of awkward
// shapes, for the fast kernels (default and forced-portable dispatch, 1 and 2 threads) and the
// scalar _ref kernels. Bounds (relative error ||out - ref|| / ||ref||): 1e-6 for arithmetic,
// activations and softmax (float32 rounding plus the few-ulp exp/tanh approximations of the fast
// path; measured ~4e-8), 1e-5 for GELU on tiny inputs (see below); activation gradients: the float64 analytic derivative is first checked against central
// finite differences of the float64 forward (1e-7), then the kernels' backward against it (2e-6,
// relative to max(||ref||, ||dy||): tanh, sigmoid and ELU derive from the float32 output y, so
// their absolute error is about eps * |dy| where the true derivative underflows, e.g. tanh(60)).
import {
  activationBackward,
  add,
  axpy,
  div,
  elu,
  gelu,
  getForcePortable,
  getNumThreads,
  leakyRelu,
  logSoftmax,
  mul,
  relu,
  scale,
  setForcePortable,
  setMaxIsa,
  setNumThreads,
  sigmoid,
  softmax,
  softplus,
  sub,
  tanh,
  Tensor,
  tensor,
} from '../../lib';
import { binding } from '../../lib/native';
import { reportMissingPaths, VARIANTS } from '../helpers/variants';
import { bufferOf } from '../../lib/tensor/tensor';

const bufOf = (t: Tensor) => bufferOf(t, 't');

function rand(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * Math.random();
  return a;
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] ** 2;
  return Math.sqrt(s);
}

/** ||out - ref|| / max(||ref||, floor); floor defaults to 0 (plain relative error). */
function relErr(out: ArrayLike<number>, ref: ArrayLike<number>, floor = 0): number {
  expect(out.length).toBe(ref.length);
  let num = 0;
  for (let i = 0; i < ref.length; i++) num += (out[i] - ref[i]) ** 2;
  const den = Math.max(norm(ref), floor);
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num) / den;
}

// Every path this machine can run: the dispatched one, each lower ISA level forced (test/helpers/variants.ts), portable.
const MODES = VARIANTS;
reportMissingPaths();

// ---- float64 references ---------------------------------------------------------------------------
type Act = 'linear' | 'relu' | 'leakyRelu' | 'elu' | 'gelu' | 'sigmoid' | 'tanh' | 'softplus';
const ACTS: Act[] = ['linear', 'relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus'];
const ALPHA: Record<Act, number> = { linear: 0, relu: 0, leakyRelu: 0.13, elu: 0.7, gelu: 0, sigmoid: 0, tanh: 0, softplus: 0 };
const C = Math.sqrt(2 / Math.PI);

function fwd(act: Act, x: number, alpha: number): number {
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return Math.max(x, 0);
    case 'leakyRelu':
      return x < 0 ? alpha * x : x;
    case 'elu':
      return x > 0 ? x : alpha * Math.expm1(x);
    case 'gelu': // 0.5 x (1 + tanh(u)) written as x * sigmoid(2u) to avoid cancellation for x < 0
      return x / (1 + Math.exp(-2 * C * (x + 0.044715 * x ** 3)));
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'softplus':
      return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  }
}

function deriv(act: Act, x: number, alpha: number): number {
  switch (act) {
    case 'linear':
      return 1;
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'leakyRelu':
      return x > 0 ? 1 : alpha;
    case 'elu':
      return x > 0 ? 1 : alpha * Math.exp(x);
    case 'gelu': {
      // d/dx of 0.5 x (1 + tanh(u)); 1 + tanh(u) = 2s and 1 - tanh(u)^2 = 4s(1 - s), s = sigmoid(2u)
      const s = 1 / (1 + Math.exp(-2 * C * (x + 0.044715 * x ** 3)));
      return s + 2 * x * s * (1 - s) * C * (1 + 3 * 0.044715 * x * x);
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s);
    }
    case 'tanh':
      return 1 - Math.tanh(x) ** 2;
    case 'softplus':
      return 1 / (1 + Math.exp(-x));
  }
}

const API: Record<Act, (x: Tensor) => Tensor> = {
  linear: (x) => scale(x, 1),
  relu,
  leakyRelu: (x) => leakyRelu(x, ALPHA.leakyRelu),
  elu: (x) => elu(x, ALPHA.elu),
  gelu,
  sigmoid,
  tanh,
  softplus,
};

/** Activation inputs: mostly moderate, some large magnitudes (saturation, exp range). */
function actInputs(n: number): Float32Array {
  const x = rand(n, -6, 6);
  for (let i = 0; i < n; i += 17) x[i] = (Math.random() * 2 - 1) * 60;
  for (let i = 5; i < n; i += 29) x[i] = (Math.random() * 2 - 1) * 1e-3;
  return x;
}

function refSoftmax(x: Float32Array, rows: number, cols: number, log: boolean): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
    for (let j = 0; j < cols; j++) {
      const z = x[r * cols + j] - m;
      y[r * cols + j] = log ? z - Math.log(s) : Math.exp(z) / s;
    }
  }
  return y;
}

type BinOp = 'add' | 'sub' | 'mul' | 'div';
const BIN: Record<BinOp, (a: Tensor, b: Tensor | number) => Tensor> = { add, sub, mul, div };
const BIN_F: Record<BinOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

function refBinary(op: BinOp, a: Float32Array, b: Float32Array): Float64Array {
  const r = new Float64Array(a.length);
  if (op === 'add') for (let i = 0; i < a.length; i++) r[i] = a[i] + b[i];
  else if (op === 'sub') for (let i = 0; i < a.length; i++) r[i] = a[i] - b[i];
  else if (op === 'mul') for (let i = 0; i < a.length; i++) r[i] = a[i] * b[i];
  else for (let i = 0; i < a.length; i++) r[i] = a[i] / b[i];
  return r;
}

/** b values kept away from zero so that division stays well conditioned. */
function bValues(n: number): Float32Array {
  const b = rand(n, 0.5, 2);
  for (let i = 0; i < n; i += 2) b[i] = -b[i];
  return b;
}

describe('elementwise', () => {
  const threads0 = getNumThreads();
  const portable0 = getForcePortable();
  afterEach(() => {
    setNumThreads(threads0);
    setForcePortable(portable0);
    setMaxIsa(null);
  });

  describe.each(MODES)('$name', ({ portable, threads, isa }) => {
    beforeEach(() => {
      setForcePortable(portable);
      setMaxIsa(isa);
      setNumThreads(threads);
    });

    it.each([
      [1, 1],
      [7, 1],
      [1, 13],
      [1000, 37],
      [3, 30011],
      [0, 5],
    ])('add, sub, mul, div of [%i, %i] with full, row, column and scalar b', (rows, cols) => {
      const a = rand(rows * cols, -3, 3);
      const ta = tensor(a, [rows, cols]);
      const bFull = bValues(rows * cols);
      const bRow = bValues(cols);
      const bCol = bValues(rows);
      const s = Math.fround(-1.7);
      const variants: Array<[Tensor | number, (r: number, c: number) => number]> = [
        [tensor(bFull, [rows, cols]), (r, c) => bFull[r * cols + c]],
        [tensor(bRow, [cols]), (r, c) => bRow[c]],
        [tensor(bRow, [1, cols]), (r, c) => bRow[c]],
        [tensor(bCol, [rows, 1]), (r) => bCol[r]],
        [s, () => s],
        [tensor(new Float32Array([s]), []), () => s],
      ];
      for (const [b, bAt] of variants) {
        const bx = new Float32Array(rows * cols); // b expanded to a's shape
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) bx[r * cols + c] = bAt(r, c);
        for (const op of ['add', 'sub', 'mul', 'div'] as BinOp[]) {
          const out = BIN[op](ta, b);
          expect(out.shape).toEqual([rows, cols]);
          // add/sub of random values can cancel: a few 1e-6 relative error on rare draws.
          expect(relErr(out.data(), refBinary(op, a, bx))).toBeLessThan(1e-5);
          out.dispose();
        }
      }
    });

    it('broadcasts over N-D tensors (same shape, trailing row, scalar)', () => {
      const a = rand(2 * 3 * 5, -2, 2);
      const ta = tensor(a, [2, 3, 5]);
      const row = bValues(5);
      const same = bValues(30);
      const o1 = add(ta, tensor(row, [5]));
      const o2 = mul(ta, tensor(same, [2, 3, 5]));
      const o3 = div(ta, 4);
      const o4 = sub(tensor(a.subarray(0, 5), [5]), tensor(row, [5]));
      expect(o1.shape).toEqual([2, 3, 5]);
      expect(relErr(o1.data(), Array.from(a, (v, i) => v + row[i % 5]))).toBeLessThan(1e-5);
      expect(relErr(o2.data(), Array.from(a, (v, i) => v * same[i]))).toBeLessThan(1e-6);
      expect(relErr(o3.data(), Array.from(a, (v) => v / 4))).toBeLessThan(1e-6);
      expect(relErr(o4.data(), Array.from(a.subarray(0, 5), (v, i) => v - row[i]))).toBeLessThan(1e-5);
    });

    it('scale and axpy', () => {
      for (const n of [0, 1, 17, 100003]) {
        const x = rand(n);
        const y = rand(n);
        const tx = tensor(x, [n]);
        const ty = tensor(y, [n]);
        const sc = scale(tx, -2.5);
        expect(relErr(sc.data(), Array.from(x, (v) => -2.5 * v))).toBeLessThan(1e-6);
        expect(axpy(0.75, tx, ty)).toBe(ty);
        // Elementwise bound: float32 rounds a*x (when not fused) and the sum, each by at most 2^-24
        // of its magnitude, so |out - ref| <= 2^-24 (|a x| + |ref|) (+ the same again of slack). A
        // norm-wise relative bound fails on rare draws where y + a x cancels (n = 1: no other
        // element to carry the norm).
        const out = ty.data();
        let worst = 0;
        for (let i = 0; i < n; i++) {
          const ref = y[i] + 0.75 * x[i];
          worst = Math.max(worst, Math.abs(out[i] - ref) / (2 ** -23 * (Math.abs(0.75 * x[i]) + Math.abs(ref)) + 1e-30));
        }
        expect(worst).toBeLessThanOrEqual(1);
      }
    });

    it.each(ACTS)('%s forward and backward match float64 references', (act) => {
      const alpha = ALPHA[act];
      for (const n of [0, 1, 37, 30011]) {
        const x = actInputs(n);
        const tx = tensor(x, [n]);
        const y = API[act](tx);
        const refY = Float64Array.from(x, (v) => fwd(act, v, alpha));
        // Floor: float32 underflow (gelu(-12) ~ 1e-61). GELU's bound is looser: for x << 0 its value
        // is ~x e^{2u} with |2u| up to ~20 at float32 scale, so float32 rounding of u alone moves it
        // by |2u| * eps ~ 2e-6 relative; large inputs dominate the norm and land near 4e-8.
        expect(relErr(y.data(), refY, 1e-20)).toBeLessThan(act === 'gelu' ? 1e-5 : 1e-6);
        const dy = rand(n, -2, 2);
        const tdy = tensor(dy, [n]);
        const dx = activationBackward(act, tx, y, tdy, act === 'leakyRelu' || act === 'elu' ? alpha : undefined);
        const refDx = Float64Array.from(x, (v, i) => dy[i] * deriv(act, v, alpha));
        expect(relErr(dx.data(), refDx, norm(dy))).toBeLessThan(2e-6);
        [tx, y, tdy, dx].forEach((t) => t.dispose());
      }
    });

    it('softmax and logSoftmax match float64 references; rows sum to 1 even for large logits', () => {
      for (const [rows, cols] of [
        [1, 1],
        [1000, 37],
        [3, 1001],
        [7, 8],
        [0, 3],
      ]) {
        const x = rand(rows * cols, -10, 10);
        for (let i = 0; i < x.length; i += 3) x[i] += 1000; // would overflow exp without the max shift
        const tx = tensor(x, [rows, cols]);
        const y = softmax(tx);
        const ly = logSoftmax(tx);
        expect(relErr(y.data(), refSoftmax(x, rows, cols, false))).toBeLessThan(1e-6);
        expect(relErr(ly.data(), refSoftmax(x, rows, cols, true))).toBeLessThan(1e-6);
        const yd = y.data();
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += yd[r * cols + j];
          expect(Math.abs(s - 1)).toBeLessThan(1e-5);
        }
        expect(yd.every((v) => Number.isFinite(v))).toBe(true);
      }
      const big = softmax(tensor([[1000, 1000, -1000]])).data();
      expect(Array.from(big)).toEqual([0.5, 0.5, 0]);
    });

    it('softmax of a 3-D tensor works along the last axis', () => {
      const x = rand(2 * 3 * 4, -3, 3);
      const y = softmax(tensor(x, [2, 3, 4]));
      expect(y.shape).toEqual([2, 3, 4]);
      expect(relErr(y.data(), refSoftmax(x, 6, 4, false))).toBeLessThan(1e-6);
    });

    it('softmaxBackward matches y * (dy - sum(dy * y)) and finite differences', () => {
      const b = binding();
      for (const [rows, cols] of [
        [1, 1],
        [257, 31],
        [2, 3],
      ]) {
        const x = rand(rows * cols, -3, 3);
        const dy = rand(rows * cols);
        const y = Float32Array.from(refSoftmax(x, rows, cols, false));
        const ty = tensor(y, [rows, cols]);
        const tdy = tensor(dy, [rows, cols]);
        const ref = new Float64Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += y[r * cols + j] * dy[r * cols + j];
          for (let j = 0; j < cols; j++) ref[r * cols + j] = y[r * cols + j] * (dy[r * cols + j] - s);
        }
        // The formula is the gradient of L = sum(dy * softmax(x)): check it by finite differences.
        const x64 = Float64Array.from(x);
        const L = (v: Float64Array): number => {
          const sm = refSoftmax(Float32Array.from(v), rows, cols, false); // float32 inputs are exact here
          let s = 0;
          for (let i = 0; i < sm.length; i++) s += dy[i] * sm[i];
          return s;
        };
        if (rows * cols <= 6) {
          for (let i = 0; i < rows * cols; i++) {
            const h = 2 ** -10;
            const p = Float64Array.from(x64);
            const m = Float64Array.from(x64);
            p[i] += h;
            m[i] -= h;
            const exact = refSoftmax(x, rows, cols, false);
            let s = 0;
            for (let j = 0; j < cols; j++) s += exact[Math.floor(i / cols) * cols + j] * dy[Math.floor(i / cols) * cols + j];
            const analytic = exact[i] * (dy[i] - s);
            expect(Math.abs((L(p) - L(m)) / (2 * h) - analytic)).toBeLessThan(1e-5);
          }
        }
        for (const useRef of [false, true]) {
          const dx = new b.NativeBuffer(0, rows * cols);
          b.softmaxBackward(bufOf(ty), bufOf(tdy), rows, cols, dx, useRef);
          // dy - sum(dy * y) cancels: float32 rounding reaches a few 1e-6 on some draws.
          expect(relErr(dx.read(), ref)).toBeLessThan(1e-5);
        }
      }
    });
  });

  it('the analytic derivatives agree with central finite differences of the float64 forward', () => {
    for (const act of ACTS) {
      const alpha = ALPHA[act];
      const xs = Array.from(rand(200, -5, 5)).filter((v) => Math.abs(v) > 1e-3);
      const fd: number[] = [];
      const an: number[] = [];
      for (const x of xs) {
        const h = 1e-5;
        fd.push((fwd(act, x + h, alpha) - fwd(act, x - h, alpha)) / (2 * h));
        an.push(deriv(act, x, alpha));
      }
      expect(relErr(fd, an)).toBeLessThan(1e-7);
    }
    // The GELU reference is the tanh approximation's textbook form, rewritten.
    const xs = Array.from(rand(200, -8, 8));
    const textbook = xs.map((x) => 0.5 * x * (1 + Math.tanh(C * (x + 0.044715 * x ** 3))));
    expect(relErr(xs.map((x) => fwd('gelu', x, 0)), textbook)).toBeLessThan(1e-14);
  });

  it('the kernels\' backward agrees with finite differences of the float64 forward', () => {
    for (const act of ACTS) {
      const alpha = ALPHA[act];
      const x = Float32Array.from(Array.from(rand(500, -5, 5)).filter((v) => Math.abs(v) > 1e-3));
      const tx = tensor(x, [x.length]);
      const y = tensor(Float32Array.from(x, (v) => fwd(act, v, alpha)), [x.length]);
      const ones = tensor(new Float32Array(x.length).fill(1), [x.length]);
      const dx = activationBackward(act, tx, y, ones, alpha).data();
      const h = 1e-5;
      const fd = Array.from(x, (v) => (fwd(act, v + h, alpha) - fwd(act, v - h, alpha)) / (2 * h));
      expect(relErr(dx, fd, Math.sqrt(x.length))).toBeLessThan(2e-6);
    }
  });

  it('the scalar _ref kernels match the float64 references', () => {
    const b = binding();
    const rows = 301;
    const cols = 37;
    const n = rows * cols;
    const a = rand(n, -3, 3);
    const bf = bValues(n);
    const ta = tensor(a, [rows, cols]);
    const tb = tensor(bf, [rows, cols]);
    const ops: BinOp[] = ['add', 'sub', 'mul', 'div'];
    ops.forEach((op, code) => {
      for (const [bc, bAt] of [
        [0, (r: number, c: number) => bf[r * cols + c]],
        [1, (_r: number, c: number) => bf[c]],
        [2, (r: number) => bf[r]],
        [3, () => bf[0]],
      ] as Array<[0 | 1 | 2 | 3, (r: number, c: number) => number]>) {
        const out = new b.NativeBuffer(0, n);
        b.binary(code as 0 | 1 | 2 | 3, bc, bufOf(ta), bufOf(tb), rows, cols, out, true);
        const ref = new Float64Array(n);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) ref[r * cols + c] = BIN_F[op](a[r * cols + c], bAt(r, c));
        expect(relErr(out.read(), ref)).toBeLessThan(1e-6);
      }
    });
    const out = new b.NativeBuffer(0, n);
    b.scale(bufOf(ta), 3, n, out, true);
    expect(relErr(out.read(), Array.from(a, (v) => 3 * v))).toBeLessThan(1e-6);
    const y = new b.NativeBuffer(0, n);
    y.write(bf);
    b.axpy(-0.5, bufOf(ta), n, y, true);
    expect(relErr(y.read(), Array.from(a, (v, i) => bf[i] - 0.5 * v))).toBeLessThan(1e-5);
    const x = actInputs(n);
    const tx = tensor(x, [n]);
    const dy = tensor(rand(n), [n]);
    const dyd = dy.data();
    for (const act of ACTS) {
      const yb = new b.NativeBuffer(0, n);
      b.actForward(act, ALPHA[act], bufOf(tx), n, yb, true);
      expect(relErr(yb.read(), Float64Array.from(x, (v) => fwd(act, v, ALPHA[act])), 1e-20)).toBeLessThan(1e-6);
      const dx = new b.NativeBuffer(0, n);
      b.actBackward(act, ALPHA[act], bufOf(tx), yb, bufOf(dy), n, dx, true);
      expect(relErr(dx.read(), Float64Array.from(x, (v, i) => dyd[i] * deriv(act, v, ALPHA[act])), norm(dyd))).toBeLessThan(2e-6);
    }
    const sx = rand(n, -20, 20);
    const tsx = tensor(sx, [rows, cols]);
    for (const log of [false, true]) {
      const sy = new b.NativeBuffer(0, n);
      b[log ? 'logSoftmax' : 'softmax'](bufOf(tsx), rows, cols, sy, true);
      expect(relErr(sy.read(), refSoftmax(sx, rows, cols, log))).toBeLessThan(1e-6);
    }
  });

  it('fast kernels work in place (out aliasing an input)', () => {
    const b = binding();
    const n = 1003;
    const a = rand(n, -3, 3);
    const t = tensor(a, [n]);
    b.actForward('tanh', 0, bufOf(t), n, bufOf(t), false);
    expect(relErr(t.data(), Array.from(a, Math.tanh))).toBeLessThan(1e-6);
    const u = tensor(a, [17, 59]);
    b.softmax(bufOf(u), 17, 59, bufOf(u), false);
    expect(relErr(u.data(), refSoftmax(a, 17, 59, false))).toBeLessThan(1e-6);
    const w = tensor(a, [n]);
    b.binary(2, 0, bufOf(w), bufOf(w), 1, n, bufOf(w), false);
    expect(relErr(w.data(), Array.from(a, (v) => v * v))).toBeLessThan(1e-6);
  });

  it('NaN propagates through activations and softmax', () => {
    const x = tensor([NaN, 1, -1]);
    for (const act of ACTS) expect(Number.isNaN(API[act](x).data()[0])).toBe(true);
    const s = softmax(tensor([[NaN, 1, 2]])).data();
    expect(Array.from(s).every(Number.isNaN)).toBe(true);
  });

  it('rejects bad arguments with clear messages', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => add(a, tensor([1, 2]))).toThrow(
      new RangeError('Expected a number or a Tensor of shape [2, 3], [3], [1, 3] or [2, 1] for b but received a Tensor of shape [2]'),
    );
    expect(() => mul(tensor([1, 2, 3]), tensor([1, 2]))).toThrow(
      new RangeError('Expected a number or a Tensor of shape [3] for b but received a Tensor of shape [2]'),
    );
    expect(() => add(tensor(rand(24), [2, 3, 4]), tensor([1, 2]))).toThrow(
      new RangeError('Expected a number or a Tensor of shape [2, 3, 4] or [4] for b but received a Tensor of shape [2]'),
    );
    expect(() => add(a, '1' as unknown as number)).toThrow(new TypeError('Expected a Tensor for b but received "1"'));
    expect(() => add(a, NaN)).toThrow(new RangeError('Expected a finite number for b but received NaN'));
    expect(() => sub(a, tensor(new Int32Array([1, 2, 3])))).toThrow(new TypeError('Expected a float32 Tensor for b but received an int32 Tensor'));
    expect(() => div(null as unknown as Tensor, 1)).toThrow(new TypeError('Expected a Tensor for a but received null'));
    expect(() => scale(a, Infinity)).toThrow(new RangeError('Expected a finite number for alpha but received Infinity'));
    expect(() => axpy(1, a, tensor([1, 2, 3]))).toThrow(new RangeError('Expected a Tensor of shape [2, 3] for y but received a Tensor of shape [3]'));
    expect(() => leakyRelu(a, '0.1' as unknown as number)).toThrow(new TypeError('Expected a number for alpha but received "0.1"'));
    expect(() => activationBackward('swish' as Act, a, a, a)).toThrow(
      new RangeError(
        "Expected one of 'linear', 'relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus' for name but received \"swish\"",
      ),
    );
    expect(() => activationBackward('relu', a, a, tensor([1]))).toThrow(new RangeError('Expected a Tensor of shape [2, 3] for dy but received a Tensor of shape [1]'));
    expect(() => softmax(tensor(3))).toThrow(new RangeError('Expected a Tensor of rank >= 1 for x but received a Tensor of shape []'));
    expect(() => relu(tensor(new Int32Array([1])))).toThrow(new TypeError('Expected a float32 Tensor for x but received an int32 Tensor'));
    const gone = tensor([1, 2]);
    gone.dispose();
    expect(() => relu(gone)).toThrow('Expected a live Tensor for x but received a disposed Tensor');
    expect(() => add(a, gone)).toThrow('Expected a live Tensor for b but received a disposed Tensor');
  });

  it('the binding rejects inconsistent sizes without crashing', () => {
    const b = binding();
    const x = new b.NativeBuffer(0, 6);
    const small = new b.NativeBuffer(0, 2);
    expect(() => b.binary(0, 1, x, small, 2, 3, x, false)).toThrow('Expected at least 3 elements in b but it has 2');
    expect(() => b.binary(0, 2, x, small, 2, 3, x, false)).not.toThrow();
    expect(() => b.actForward('swish' as never, 0, x, 6, x, false)).toThrow(
      "Expected one of 'linear', 'relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus' for act but received \"swish\"",
    );
    expect(() => b.actForward(3 as never, 0, x, 6, x, false)).toThrow(expect.objectContaining({ code: 'ERR_NT_INVALID_ARGUMENT_TYPE' }));
    expect(() => b.softmax(x, 4, 2, x, false)).toThrow('Expected at least 8 elements in x but it has 6');
    expect(() => b.axpy(1, x, 7, x, false)).toThrow('Expected at least 7 elements in x but it has 6');
  });
});
