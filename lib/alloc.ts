/**
 * Allocation of large typed arrays. JavaScript reports a length it cannot allocate as a RangeError
 * ("Invalid typed array length", "Array buffer allocation failed") that names nothing; these
 * helpers turn it into a NodetrainError ERR_NT_OUT_OF_MEMORY naming the argument it came from.
 */
import { ERR, NodetrainError } from './errors';

/** True for the errors V8 throws when a typed array or ArrayBuffer cannot be allocated. */
export function isAllocationFailure(e: unknown): boolean {
  if (!(e instanceof RangeError) || (e as { code?: unknown }).code !== undefined) return false;
  return /typed array length|array buffer allocation|array buffer length|Array buffer allocation failed|Invalid array length/i.test(e.message);
}

/** The coded error for an allocation of `elements` values (4 bytes each) that failed for `name`. */
export function outOfMemory(name: string, elements: number, cause?: unknown): NodetrainError {
  const bytes = elements * 4;
  return new NodetrainError(
    ERR.OUT_OF_MEMORY,
    `Expected an allocatable size for ${name} but received ${elements} elements (${bytes.toLocaleString('en-US')} bytes), which cannot be allocated`,
    { cause },
  );
}

/**
 * Runs `fn`, mapping an allocation failure to ERR_NT_OUT_OF_MEMORY for `name`.
 * @throws NodetrainError ERR_NT_OUT_OF_MEMORY when fn fails to allocate; whatever else fn throws.
 */
export function guardAllocation<T>(name: string, elements: number, fn: () => T): T {
  if (!Number.isSafeInteger(elements) || elements < 0) throw outOfMemory(name, elements);
  try {
    return fn();
  } catch (e) {
    if (isAllocationFailure(e)) throw outOfMemory(name, elements, e);
    throw e;
  }
}

/** A zero-filled Float32Array of `length`. @throws NodetrainError ERR_NT_OUT_OF_MEMORY naming `name`. */
export function allocFloat32(name: string, length: number): Float32Array {
  return guardAllocation(name, length, () => new Float32Array(length));
}

/** A zero-filled Int32Array of `length`. @throws NodetrainError ERR_NT_OUT_OF_MEMORY naming `name`. */
export function allocInt32(name: string, length: number): Int32Array {
  return guardAllocation(name, length, () => new Int32Array(length));
}
