/**
 * Per-row loss weights for fit: `sampleWeight` (one weight per row) and `classWeight` (one weight
 * per class id, or 'balanced'), multiplied together as Keras does. 'balanced' is scikit-learn's
 * rule, n_samples / (n_classes * count(class)), over the classes present in the training rows.
 * The native loss then computes sum(w_r * loss_r) / rows (the sum-over-batch-size reduction), so
 * weights of mean 1 leave the loss scale, and so the learning rate, unchanged.
 */
import { Tensor, tensor } from '../tensor/tensor';
import * as v from '../validate';

export type ClassWeight = 'balanced' | readonly number[] | Readonly<Record<number | string, number>>;

/** The class id of each row: int32 labels, or the argmax of one-hot / probability rows. */
function classIds(y: Tensor): Int32Array {
  if (y.dtype === 'int32') return Int32Array.from(y.data() as Int32Array);
  const [n, k] = y.shape.length === 2 ? y.shape : [y.shape[0], 1];
  const d = y.data() as Float32Array;
  const ids = new Int32Array(n);
  if (k === 1) {
    for (let i = 0; i < n; i++) ids[i] = d[i] > 0.5 ? 1 : 0; // binary targets: class 0 / 1
    return ids;
  }
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
    ids[i] = best;
  }
  return ids;
}

/**
 * The per-row weights, or null when neither option is given.
 * @throws TypeError / RangeError naming sampleWeight or classWeight for a wrong length, a
 *   negative or non-finite weight, or a class without a weight.
 */
export function rowWeights(y: Tensor, sampleWeight: unknown, classWeight: unknown): Float32Array | null {
  if (sampleWeight === undefined && classWeight === undefined) return null;
  const n = y.shape[0];
  const w = new Float32Array(n).fill(1);
  if (sampleWeight !== undefined) {
    let data: ArrayLike<number>;
    if (sampleWeight instanceof Tensor) {
      if (sampleWeight.dtype !== 'float32' || sampleWeight.shape.length !== 1) throw v.typeError('a float32 Tensor of shape [n]', 'sampleWeight', sampleWeight);
      data = sampleWeight.data() as Float32Array;
    } else if (Array.isArray(sampleWeight) || sampleWeight instanceof Float32Array || sampleWeight instanceof Float64Array) {
      data = sampleWeight as ArrayLike<number>;
    } else {
      throw v.typeError('an array, Float32Array or Tensor of one weight per row', 'sampleWeight', sampleWeight);
    }
    if (data.length !== n) throw v.rangeError(`${n} weights (one per row)`, 'sampleWeight', sampleWeight);
    for (let i = 0; i < n; i++) {
      const x = data[i];
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw v.rangeError('finite weights >= 0', `sampleWeight[${i}]`, x);
      w[i] = x;
    }
  }
  if (classWeight !== undefined) {
    const ids = classIds(y);
    const k = Math.max(0, ...ids) + 1;
    let table: number[];
    if (classWeight === 'balanced') {
      const counts = new Array<number>(k).fill(0);
      for (const c of ids) counts[c]++;
      const present = counts.filter((c) => c > 0).length;
      table = counts.map((c) => (c > 0 ? n / (present * c) : 0));
    } else if (Array.isArray(classWeight)) {
      table = classWeight.map((x, i) => v.finiteNumber(`classWeight[${i}]`, x, { min: 0 }));
      if (table.length < k) throw v.rangeError(`a weight for each of the ${k} classes in the targets`, 'classWeight', classWeight);
    } else if (typeof classWeight === 'object' && classWeight !== null) {
      table = [];
      for (const [key, x] of Object.entries(classWeight)) {
        if (!/^\d+$/.test(key)) throw v.rangeError('class ids (integers >= 0) as keys', 'classWeight', key);
        table[Number(key)] = v.finiteNumber(`classWeight[${key}]`, x, { min: 0 });
      }
      // Keras: classes without an entry weigh 1.
      for (let c = 0; c < k; c++) if (table[c] === undefined) table[c] = 1;
    } else {
      throw v.typeError("'balanced', an array of weights by class id, or an object {classId: weight}", 'classWeight', classWeight);
    }
    for (let i = 0; i < n; i++) w[i] *= table[ids[i]];
  }
  return w;
}

/** The weights of the rows at the given indices, as a Tensor for the native loop. */
export function weightTensor(w: Float32Array, rows?: Int32Array): Tensor {
  const data = rows ? Float32Array.from(rows, (i) => w[i]) : w;
  return tensor(data, [data.length], 'float32');
}
