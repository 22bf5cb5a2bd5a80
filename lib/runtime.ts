/** Process-wide runtime controls: the shared thread pool and kernel dispatch. */
import { binding } from './native';
import * as v from './validate';

/** Number of threads in the process-wide pool shared by every model and kernel. */
export function getNumThreads(): number {
  return binding().getNumThreads();
}

/**
 * Sets the size of the process-wide thread pool (default: the number of cores).
 * @throws RangeError when n is not an integer in [1, 256].
 * @example setNumThreads(1);
 */
export function setNumThreads(n: number): void {
  binding().setNumThreads(v.integer('n', n, 1, 256));
}

/**
 * Forces the portable (non-SIMD) kernels, for testing or for comparing paths.
 * @throws TypeError when on is not a boolean.
 */
export function setForcePortable(on: boolean): void {
  binding().setForcePortable(v.boolean('on', on));
}

export function getForcePortable(): boolean {
  return binding().getForcePortable();
}

/** CPU features seen by the kernel dispatch. */
export function cpuFeatures(): { avx2: boolean; fma: boolean; avx2Kernels: boolean; useAvx2: boolean } {
  return binding().cpuFeatures();
}
