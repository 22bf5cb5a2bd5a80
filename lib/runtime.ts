/** Process-wide runtime controls: the shared thread pool and kernel dispatch. */
import { binding } from './native';
import type { CpuFeatureReport } from './native/binding';
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

/**
 * The kernel ISA levels, lowest first. 'amx' is the AVX-512 table with bf16 GEMMs on AMX-BF16
 * tiles (precision 'bf16'); its float32 kernels are the AVX-512 ones.
 */
export type IsaLevel = 'portable' | 'avx2' | 'avx512' | 'amx';
const ISA_LEVELS: IsaLevel[] = ['portable', 'avx2', 'avx512', 'amx'];

/**
 * Caps the dispatched kernels at an ISA level (null: no cap, the best the CPU has), for tests and
 * comparisons; a level above what the CPU has changes nothing. setForcePortable(true) still wins.
 * @throws RangeError for a name other than 'portable', 'avx2', 'avx512', 'amx'.
 * @example setMaxIsa('avx2'); // AVX2 kernels even on an AVX-512 CPU
 */
export function setMaxIsa(level: IsaLevel | null): void {
  if (level === null) {
    binding().setMaxIsa(-1);
    return;
  }
  binding().setMaxIsa(ISA_LEVELS.indexOf(v.oneOf('level', level, ISA_LEVELS)));
}

/** The cap set by setMaxIsa, or null. */
export function getMaxIsa(): IsaLevel | null {
  const i = binding().getMaxIsa();
  return i < 0 ? null : ISA_LEVELS[i];
}

/**
 * CPU features seen by the kernel dispatch and the paths in use: `isa` is the active kernel table
 * (after setForcePortable / setMaxIsa), `bestIsa` the best this CPU and build have.
 */
export function cpuFeatures(): CpuFeatureReport {
  return binding().cpuFeatures();
}

/**
 * TEST HOOK, not part of the public API (not exported from the package index): on a CPU with
 * AVX512-BF16 but no AMX, `setAmxEmulation(true)` makes the 'amx' ISA level available, its bf16
 * GEMM running the AMX driver, packing and tile microkernel source over a software model of the
 * tile unit (native/cpu/avx512/amx_emulated.h), so that tests cover that path without AMX hardware.
 * It is scalar and slow. While it is on, cpuFeatures() reports `amxEmulation: true` and
 * `bf16Gemm: 'amx-emulated'` (with the 'amx' level active). `setAmxEmulation(false)` restores
 * everything. Where the CPU has AMX (the real path is tested instead) or lacks AVX512-BF16 it
 * does nothing.
 * @returns whether the emulated AMX level is now in effect.
 * @throws TypeError when on is not a boolean.
 * @example
 * if (setAmxEmulation(true)) {
 *   try {
 *     console.log(cpuFeatures().bf16Gemm); // 'amx-emulated'
 *   } finally {
 *     setAmxEmulation(false);
 *   }
 * }
 * @internal
 */
export function setAmxEmulation(on: boolean): boolean {
  return binding().setAmxEmulation(v.boolean('on', on));
}

/**
 * Counters of the emulated tile unit since the process started: `faults` (instructions AMX
 * hardware would raise #UD/#GP for; the model skips them) and `tdpbf16ps` (tile dot products
 * executed). A test hook. @internal
 */
export function amxEmulationCounts(): { faults: number; tdpbf16ps: number } {
  return binding().amxEmulationCounts();
}
