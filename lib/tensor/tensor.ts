/**
 * Tensor: an n-dimensional float32 (or int32) array in aligned native memory. Memory is released
 * by `dispose()` or, failing that, when the Tensor is garbage-collected.
 */
import { allocFloat32, allocInt32 } from '../alloc';
import { callNative, ERR, NodetrainError } from '../errors';
import { binding, NativeBuffer } from '../native';
import * as v from '../validate';

export type DType = 'float32' | 'int32';
export type NestedArray = number | NestedArray[];
export type TensorLike = Tensor | NestedArray | Float32Array | Int32Array | number[];

let bufferAccess: (t: Tensor) => NativeBuffer | null;

export class Tensor {
  #buf: NativeBuffer | null;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;

  static {
    bufferAccess = (t) => t.#buf;
  }

  /** @internal Use tensor(), zeros() etc. instead. */
  constructor(buf: NativeBuffer, shape: readonly number[], dtype: DType) {
    this.#buf = buf;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shapeSize(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.#buf === null || this.#buf.disposed;
  }

  /**
   * A copy of the elements, row-major.
   * @throws NodetrainError ERR_NT_DISPOSED when the tensor was disposed.
   */
  data(): Float32Array | Int32Array {
    return callNative(() => bufferOf(this, 'this').read());
  }

  /** The elements as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const d = this.data();
    if (this.shape.length === 0) return d[0];
    const build = (dim: number, offset: number): NestedArray[] => {
      const n = this.shape[dim];
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = dim === this.shape.length - 1 ? d[offset + i] : build(dim + 1, offset + i * stride);
      }
      return out;
    };
    return build(0, 0);
  }

  /** A new tensor with the same elements and another shape (-1 infers one dimension). */
  reshape(shape: readonly number[]): Tensor {
    const resolved = resolveShape('shape', shape, this.size);
    const out = empty(resolved, this.dtype);
    callNative(() => bufferOf(out, 'out').write(bufferOf(this, 'this').read()));
    return out;
  }

  /** A deep copy. */
  clone(): Tensor {
    return this.reshape(this.shape);
  }

  /** Frees the native memory now. Idempotent. */
  dispose(): void {
    if (this.#buf) {
      this.#buf.dispose();
      this.#buf = null;
    }
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Validates a shape; one -1 is resolved against `size` when given. */
export function resolveShape(name: string, shape: unknown, size?: number): number[] {
  if (!Array.isArray(shape)) throw v.typeError('an array of non-negative integers', name, shape);
  let infer = -1;
  const out = shape.map((d, i) => {
    if (d === -1 && size !== undefined && infer < 0) {
      infer = i;
      return 1;
    }
    return v.integer(`${name}[${i}]`, d, 0, 2 ** 31 - 1);
  });
  if (infer >= 0) {
    const rest = shapeSize(out);
    if (rest === 0 || size! % rest !== 0) throw v.rangeError(`a shape compatible with ${size} elements`, name, v.described(`[${shape.join(', ')}]`));
    out[infer] = size! / rest;
  }
  if (size !== undefined && shapeSize(out) !== size) {
    throw v.rangeError(`a shape with ${size} elements`, name, v.described(`[${shape.join(', ')}]`));
  }
  return out;
}

/**
 * The native buffer of a live tensor, for ops. @internal
 * @throws TypeError when t is not a Tensor; NodetrainError ERR_NT_DISPOSED when disposed.
 */
export function bufferOf(t: unknown, name: string): NativeBuffer {
  if (!(t instanceof Tensor)) throw v.typeError('a Tensor', name, t);
  const b = bufferAccess(t);
  if (b === null || b.disposed) {
    throw new NodetrainError(ERR.DISPOSED, `Expected a live Tensor for ${name} but received a disposed Tensor`);
  }
  return b;
}

function article(dtype: DType): string {
  return dtype === 'int32' ? 'an' : 'a';
}

/** Checks t is a live Tensor of the given dtype (and rank when given). @internal */
export function checkTensor(name: string, t: unknown, opts: { dtype?: DType; rank?: number } = {}): Tensor {
  bufferOf(t, name);
  const x = t as Tensor;
  if (opts.dtype && x.dtype !== opts.dtype) throw v.typeError(`${article(opts.dtype)} ${opts.dtype} Tensor`, name, v.described(`${article(x.dtype)} ${x.dtype} Tensor`));
  if (opts.rank !== undefined && x.rank !== opts.rank) {
    throw v.rangeError(`a Tensor of rank ${opts.rank}`, name, t);
  }
  return x;
}

/** An uninitialised-looking (zero-filled) tensor. */
export function empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const s = resolveShape('shape', shape);
  const buf = callNative(() => new (binding().NativeBuffer)(dtype === 'float32' ? 0 : 1, shapeSize(s)));
  return new Tensor(buf, s, dtype);
}

export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return empty(shape, dtype);
}

export function fill(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  v.finiteNumber('value', value);
  const t = empty(shape, dtype);
  const d = dtype === 'float32' ? allocFloat32('shape', t.size) : allocInt32('shape', t.size);
  d.fill(value);
  bufferOf(t, 'tensor').write(d);
  return t;
}

export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return fill(shape, 1, dtype);
}

function inferShape(values: NestedArray, name: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = values;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(values: NestedArray, shape: number[], dim: number, out: number[], name: string, path: string): void {
  if (dim === shape.length) {
    if (typeof values !== 'number') throw v.typeError('a number', `${name}${path}`, values);
    out.push(values);
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[dim]) {
    throw v.rangeError(`an array of length ${shape[dim]} (ragged arrays are not allowed)`, `${name}${path}`, values);
  }
  for (let i = 0; i < values.length; i++) flatten(values[i], shape, dim + 1, out, name, `${path}[${i}]`);
}

/**
 * Creates a tensor from nested arrays, a flat array or a typed array.
 * @param values numbers (nested arrays give the shape), or a flat array / typed array with `shape`
 * @param shape required for flat input of rank other than 1
 * @param dtype 'float32' (default; 'int32' for Int32Array input)
 * @throws TypeError for non-numeric values; RangeError for ragged arrays or a shape that does not match.
 * @example const x = tensor([[1, 2], [3, 4]]);
 */
export function tensor(values: NestedArray | Float32Array | Int32Array | Float64Array, shape?: readonly number[], dtype?: DType): Tensor {
  let flat: Float32Array | Int32Array;
  let s: number[];
  const dt: DType = dtype ?? (v.isTypedArrayOf(values, 'Int32Array') ? 'int32' : 'float32');
  v.oneOf('dtype', dt, ['float32', 'int32'] as const);
  if (ArrayBuffer.isView(values)) {
    v.liveView('values', values);
    if (!(v.isTypedArrayOf(values, 'Float32Array') || v.isTypedArrayOf(values, 'Int32Array') || v.isTypedArrayOf(values, 'Float64Array'))) {
      throw v.typeError('a Float32Array, Float64Array, Int32Array or nested number arrays', 'values', values);
    }
    s = shape === undefined ? [values.length] : resolveShape('shape', shape, values.length);
    flat = dt === 'float32' ? Float32Array.from(values as ArrayLike<number>) : Int32Array.from(values as ArrayLike<number>);
  } else if (typeof values === 'number' || Array.isArray(values)) {
    const inferred = inferShape(values, 'values');
    const nums: number[] = [];
    flatten(values, inferred, 0, nums, 'values', '');
    s = shape === undefined ? inferred : resolveShape('shape', shape, nums.length);
    flat = dt === 'float32' ? Float32Array.from(nums) : Int32Array.from(nums);
  } else {
    throw v.typeError('a Float32Array, Float64Array, Int32Array or nested number arrays', 'values', values);
  }
  const t = empty(s, dt);
  if (flat.length > 0) bufferOf(t, 'tensor').write(flat);
  return t;
}

/** Converts a TensorLike argument to a Tensor; `owned` says whether the caller must dispose it. @internal */
export function toTensor(name: string, x: unknown): { t: Tensor; owned: boolean } {
  if (x instanceof Tensor) {
    bufferOf(x, name);
    return { t: x, owned: false };
  }
  if (typeof x === 'number' || Array.isArray(x) || v.isTypedArrayOf(x, 'Float32Array') || v.isTypedArrayOf(x, 'Int32Array')) {
    return { t: tensor(x as NestedArray), owned: true };
  }
  throw v.typeError('a Tensor, a number array or a typed array', name, x);
}
