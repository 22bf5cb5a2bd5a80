/**
 * Shared plumbing for the parity tests of registered kernels (NT_REGISTER_KERNEL), reached through
 * the addon's internal kernelCall entry: Float32Array in, NativeBuffer across, Float32Array out.
 */
import { binding } from '../../lib/native';
import type { NativeBuffer } from '../../lib/native';

export function nbuf(a: Float32Array | number): NativeBuffer {
  const b = binding();
  const arr = typeof a === 'number' ? new Float32Array(a) : a;
  const buf = new b.NativeBuffer(0, Math.max(arr.length, 1));
  if (arr.length) buf.write(arr);
  return buf;
}

export function read(b: NativeBuffer, n: number): Float32Array {
  return n === 0 ? new Float32Array(0) : (b.read(0, n) as Float32Array);
}

export function call(name: string, useRef: boolean, bufs: (NativeBuffer | null)[], ints: number[], nums: number[] = []): void {
  binding().kernelCall(name, useRef, bufs, ints, nums);
}

/** Row/column shapes from awkward sizes: 1, primes, non-multiples of 8 and 16. */
export const SHAPES: [number, number][] = [
  [1, 1],
  [1, 7],
  [3, 1],
  [2, 5],
  [7, 13],
  [13, 31],
  [31, 17],
  [65, 33],
  [127, 3],
];
