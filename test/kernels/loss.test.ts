// Fused softmax cross-entropy against a float64 reference computed here (loss and gradient), with
// the gradient also checked by central finite differences of the float64 loss, and of the kernel's
// own loss; fast kernel (every ISA level's build, portable included, 1 and 2 threads; shapes with
// rows longer than the 1024-value exp block and rows that straddle blocks) and the scalar _ref
// kernel. Bounds: loss relative error < 1e-6, gradient relative error ||g - ref|| / ||ref|| < 1e-6;
// finite differences of the float64 reference < 1e-7; of the kernel's float32-input loss < 1e-3.
import { getForcePortable, getNumThreads, setForcePortable, setNumThreads, softmaxCrossEntropy, Tensor, tensor } from '../../lib';
import { binding } from '../../lib/native';
import { bufferOf } from '../../lib/tensor/tensor';
import { applyVariant, reportMissingPaths, VARIANTS } from '../helpers/variants';

const bufOf = (t: Tensor) => bufferOf(t, 't');

function rand(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * Math.random();
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

/** Dense float64 targets: labels as one-hot rows. */
function oneHot(labels: Int32Array, cols: number): Float64Array {
  const t = new Float64Array(labels.length * cols);
  labels.forEach((l, r) => (t[r * cols + l] = 1));
  return t;
}

/** float64 mean loss and gradient (times gradScale) of softmax cross-entropy. */
function refXent(x: ArrayLike<number>, t: ArrayLike<number>, rows: number, cols: number, gradScale = 1): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(rows * cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
    const lse = m + Math.log(s);
    let tsum = 0;
    for (let j = 0; j < cols; j++) {
      total += t[r * cols + j] * (lse - x[r * cols + j]);
      tsum += t[r * cols + j];
    }
    for (let j = 0; j < cols; j++) {
      const p = Math.exp(x[r * cols + j] - m) / s;
      grad[r * cols + j] = (gradScale / rows) * (p * tsum - t[r * cols + j]);
    }
  }
  return { loss: total / rows, grad };
}

function randLabels(rows: number, cols: number): Int32Array {
  return Int32Array.from({ length: rows }, () => Math.floor(Math.random() * cols));
}

/** Random probability rows (sum 1). */
function randProbs(rows: number, cols: number): Float32Array {
  const t = rand(rows * cols, 0, 1);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += t[r * cols + j];
    for (let j = 0; j < cols; j++) t[r * cols + j] /= s;
  }
  return t;
}

// Every kernel path this machine can take (each ISA level's build of the row loops, forced with
// setMaxIsa, and the portable one) at 1 and 2 threads; levels the CPU lacks are printed.
reportMissingPaths();
const MODES = VARIANTS;

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [3, 1],
  [1, 7],
  [64, 10],
  [1000, 37],
  [4099, 3],
  [2, 1500],
  [5, 341],
];

describe('softmax cross-entropy', () => {
  const threads0 = getNumThreads();
  const portable0 = getForcePortable();
  afterEach(() => {
    setNumThreads(threads0);
    setForcePortable(portable0);
  });

  describe.each(MODES)('$name', (variant) => {
    let restore: () => void = () => undefined;
    beforeEach(() => {
      restore = applyVariant(variant);
    });
    afterEach(() => restore());

    it.each(SHAPES)('labels and targets, [%i, %i], match the float64 reference', (rows, cols) => {
      const x = rand(rows * cols, -8, 8);
      const tx = tensor(x, [rows, cols]);
      const labels = randLabels(rows, cols);
      const ref = refXent(x, oneHot(labels, cols), rows, cols);
      const a = softmaxCrossEntropy(tx, tensor(labels, [rows]));
      expect(Math.abs(a.loss - ref.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.loss));
      expect(a.grad.shape).toEqual([rows, cols]);
      expect(relErr(a.grad.data(), ref.grad)).toBeLessThan(1e-5);

      const probs = randProbs(rows, cols);
      const refT = refXent(x, probs, rows, cols);
      const b = softmaxCrossEntropy(tx, tensor(probs, [rows, cols]));
      expect(Math.abs(b.loss - refT.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(refT.loss));
      expect(relErr(b.grad.data(), refT.grad)).toBeLessThan(1e-5);
    });

    it('is stable for large logits (1000 and beyond)', () => {
      const rows = 50;
      const cols = 11;
      const x = rand(rows * cols, -5, 5);
      for (let i = 0; i < x.length; i += 2) x[i] += 1000;
      for (let i = 1; i < x.length; i += 7) x[i] -= 3000;
      const labels = randLabels(rows, cols);
      const ref = refXent(x, oneHot(labels, cols), rows, cols);
      const { loss, grad } = softmaxCrossEntropy(tensor(x, [rows, cols]), tensor(labels, [rows]));
      expect(Number.isFinite(loss)).toBe(true);
      expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.loss));
      expect(relErr(grad.data(), ref.grad)).toBeLessThan(1e-5);
      expect(grad.data().every(Number.isFinite)).toBe(true);
    });
  });

  it('the float64 gradient agrees with central finite differences of the float64 loss', () => {
    const rows = 3;
    const cols = 5;
    const x = Float64Array.from(rand(rows * cols, -3, 3));
    // Targets that do not sum to one exercise the sum(t) factor in the gradient.
    const t = Float64Array.from(rand(rows * cols, 0, 1));
    const { grad } = refXent(x, t, rows, cols);
    const h = 1e-5;
    const fd = new Float64Array(rows * cols);
    for (let i = 0; i < x.length; i++) {
      const p = Float64Array.from(x);
      const m = Float64Array.from(x);
      p[i] += h;
      m[i] -= h;
      fd[i] = (refXent(p, t, rows, cols).loss - refXent(m, t, rows, cols).loss) / (2 * h);
    }
    expect(relErr(grad, fd)).toBeLessThan(1e-7);
  });

  it("the kernels' gradient agrees with finite differences of the kernels' loss (fast and _ref)", () => {
    const b = binding();
    const rows = 4;
    const cols = 6;
    const x = rand(rows * cols, -2, 2);
    const t = rand(rows * cols, 0, 1); // unnormalised on purpose
    const tt = tensor(t, [rows, cols]);
    for (const useRef of [false, true]) {
      const tx = tensor(x, [rows, cols]);
      const g = new b.NativeBuffer(0, rows * cols);
      b.softmaxXent(bufOf(tx), bufOf(tt), null, rows, cols, g, 1, useRef);
      const grad = g.read();
      const fd = new Float64Array(rows * cols);
      const h = 2 ** -8; // exactly representable steps: the perturbed float32 inputs are exact
      for (let i = 0; i < x.length; i++) {
        const p = Float32Array.from(x);
        const m = Float32Array.from(x);
        p[i] += h;
        m[i] -= h;
        const tp = tensor(p, [rows, cols]);
        const tm = tensor(m, [rows, cols]);
        fd[i] = (b.softmaxXent(bufOf(tp), bufOf(tt), null, rows, cols, null, 1, useRef) - b.softmaxXent(bufOf(tm), bufOf(tt), null, rows, cols, null, 1, useRef)) / (2 * h);
      }
      expect(relErr(grad, fd)).toBeLessThan(1e-3);
    }
  });

  it('the scalar _ref kernel matches the float64 reference and honours gradScale', () => {
    const b = binding();
    const rows = 257;
    const cols = 13;
    const x = rand(rows * cols, -6, 6);
    const labels = randLabels(rows, cols);
    const tx = tensor(x, [rows, cols]);
    const tl = tensor(labels, [rows]);
    for (const useRef of [false, true]) {
      for (const gradScale of [1, 0.25]) {
        const ref = refXent(x, oneHot(labels, cols), rows, cols, gradScale);
        const g = new b.NativeBuffer(0, rows * cols);
        const loss = b.softmaxXent(bufOf(tx), null, bufOf(tl), rows, cols, g, gradScale, useRef);
        expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-6 * ref.loss);
        expect(relErr(g.read(), ref.grad)).toBeLessThan(1e-5);
      }
    }
  });

  it('the loss does not depend on the thread count', () => {
    const rows = 5003;
    const cols = 10;
    const x = tensor(rand(rows * cols, -4, 4), [rows, cols]);
    const l = tensor(randLabels(rows, cols), [rows]);
    setNumThreads(1);
    const one = softmaxCrossEntropy(x, l);
    setNumThreads(2);
    const two = softmaxCrossEntropy(x, l);
    expect(two.loss).toBe(one.loss);
    expect(Array.from(two.grad.data())).toEqual(Array.from(one.grad.data()));
  });

  it('zero rows give a NaN mean and an empty gradient', () => {
    const r = softmaxCrossEntropy(tensor(new Float32Array(0), [0, 4]), tensor(new Int32Array(0), [0]));
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(r.grad.shape).toEqual([0, 4]);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => softmaxCrossEntropy(x, tensor(new Int32Array([0, 3])))).toThrow(new RangeError('Expected an integer in [0, 2] for target[1] but received 3'));
    expect(() => softmaxCrossEntropy(x, tensor(new Int32Array([-1, 0])))).toThrow(new RangeError('Expected an integer in [0, 2] for target[0] but received -1'));
    expect(() => softmaxCrossEntropy(x, tensor(new Int32Array([0, 1, 2])))).toThrow(
      new RangeError('Expected an int32 Tensor of shape [2] for target but received a Tensor of shape [3]'),
    );
    expect(() => softmaxCrossEntropy(x, tensor([1, 0, 0]))).toThrow(
      new RangeError('Expected a float32 Tensor of shape [2, 3] for target but received a Tensor of shape [3]'),
    );
    expect(() => softmaxCrossEntropy(tensor([1, 2]), tensor(new Int32Array([0])))).toThrow(
      new RangeError('Expected a Tensor of rank 2 for logits but received a Tensor of shape [2]'),
    );
    expect(() => softmaxCrossEntropy(tensor(new Float32Array(0), [2, 0]), tensor(new Int32Array([0, 0])))).toThrow(
      new RangeError('Expected a Tensor with at least one class (column) for logits but received a Tensor of shape [2, 0]'),
    );
    expect(() => softmaxCrossEntropy(x, [0, 1] as unknown as Tensor)).toThrow(new TypeError('Expected a Tensor for target but received an array of length 2'));
    const gone = tensor([[1, 2]]);
    gone.dispose();
    expect(() => softmaxCrossEntropy(gone, tensor(new Int32Array([0])))).toThrow('Expected a live Tensor for logits but received a disposed Tensor');
  });

  it('the kernels reject out-of-range labels with ERR_NT_INVALID_ARGUMENT_VALUE and write nothing', () => {
    const b = binding();
    const x = tensor(rand(6), [2, 3]);
    const bad = tensor(new Int32Array([1, 3]), [2]);
    for (const useRef of [false, true]) {
      const g = new b.NativeBuffer(0, 6);
      g.write(new Float32Array(6).fill(7));
      let err: unknown;
      try {
        b.softmaxXent(bufOf(x), null, bufOf(bad), 2, 3, g, 1, useRef);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
      expect((err as Error).message).toBe('softmax_xent: label 3 at row 1 is outside [0, 3)');
      expect(Array.from(g.read())).toEqual([7, 7, 7, 7, 7, 7]);
    }
    expect(() => b.softmaxXent(bufOf(x), null, null, 2, 3, null, 1, false)).toThrow('Expected exactly one of targets and labels');
    expect(() => b.softmaxXent(bufOf(x), bufOf(x), null, 2, 3, bufOf(x), 1, false)).toThrow(
      'Expected grad to be a buffer distinct from logits and targets',
    );
  });
});
