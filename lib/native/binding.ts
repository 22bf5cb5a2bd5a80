/**
 * The typed interface of the native addon. Each kernel family declares its functions in its own
 * interface (lib/native/<family>.ts); Binding is their union. Only lib/native/ loads the addon.
 */
import type { CudaBinding } from './cuda';
import type { ElementwiseBinding } from './elementwise';
import type { NativeActivation, NativeLoss, NativeMetric, NativeOptimizer, NativePrecision, NativeStatusCode } from './enums';
import type { EngineBinding } from './engine';
import type { GemmBinding } from './gemm';
import type { OptimBinding } from './optim';
import type { ReduceBinding } from './reduce';
import type { ScheduleBinding } from './schedule';

export type NativeDType = 'float32' | 'int32';

/** Aligned native storage owned by a JS object; freed by dispose() or on garbage collection. */
export interface NativeBuffer {
  readonly length: number;
  readonly dtype: NativeDType;
  readonly disposed: boolean;
  /** A copy of [offset, offset + count). */
  read(offset?: number, count?: number): Float32Array | Int32Array;
  /** Copies src in at offset (src's type must match dtype). */
  write(src: Float32Array | Int32Array, offset?: number): void;
  dispose(): void;
}

export interface NativeBufferConstructor {
  /** dtype: 0 = float32, 1 = int32. Zero-filled. */
  new (dtype: 0 | 1, length: number): NativeBuffer;
}

/** What the native dispatch detected and which kernel paths are active (see lib/runtime.ts). */
export interface CpuFeatureReport {
  avx2: boolean;
  fma: boolean;
  avx2Kernels: boolean;
  useAvx2: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512dq: boolean;
  avx512bf16: boolean;
  amxTile: boolean;
  amxBf16: boolean;
  avx512Kernels: boolean;
  /** The best kernel table this CPU and build have, and the active one (after any forcing). */
  bestIsa: 'portable' | 'avx2' | 'avx512' | 'amx';
  isa: 'portable' | 'avx2' | 'avx512' | 'amx';
  /**
   * The path bf16 GEMMs (precision 'bf16') take with the active table: 'amx' (AMX-BF16 tiles),
   * 'avx512bf16' (vdpbf16ps), or 'emulated' (operands rounded to bf16 exactly as the hardware
   * does, on the float32 kernels: the same products, summed in another order); 'amx-emulated'
   * only while the test hook setAmxEmulation(true) is on (the AMX kernel on software tiles, NOT
   * the hardware). On the AMX table,
   * reading it asks Linux for the tile permission (as the first bf16 product would), so that it
   * names the path that really runs.
   */
  bf16Gemm: 'amx' | 'avx512bf16' | 'emulated' | 'amx-emulated';
  /**
   * The Linux permission for AMX tile data, asked at the first bf16 GEMM on an AMX CPU:
   * 'not requested', 'granted', or 'denied: <reason>' (then the vdpbf16ps kernel runs).
   */
  amxPermission: string;
  /** True while the test hook setAmxEmulation(true) puts the 'amx' level on EMULATED tiles. */
  amxEmulation: boolean;
}

export interface CoreBinding {
  NativeBuffer: NativeBufferConstructor;
  abiVersion: number;
  getNumThreads(): number;
  setNumThreads(n: number): void;
  setForcePortable(on: boolean): void;
  getForcePortable(): boolean;
  cpuFeatures(): CpuFeatureReport;
  setMaxIsa(level: number): void;
  getMaxIsa(): number;
  /** Test hook: the AMX level on emulated tiles (see lib/runtime.ts setAmxEmulation). @internal */
  setAmxEmulation(on: boolean): boolean;
  /** Counters of the emulated tile unit (faults, TDPBF16PS executed), process-wide. @internal */
  amxEmulationCounts(): { faults: number; tdpbf16ps: number };
  /** The native name tables (nodetrain/enums.h), the registered ops and kernels. @internal */
  enums(): {
    activations: NativeActivation[];
    losses: NativeLoss[];
    metrics: NativeMetric[];
    optimizers: NativeOptimizer[];
    precisions: NativePrecision[];
    statusCodes: NativeStatusCode[];
    ops: string[];
    kernels: string[];
  };
  /**
   * Calls a registered kernel (NT_REGISTER_KERNEL) by name with generic arguments, each kernel
   * documenting their order; useRef selects its scalar reference twin. For kernel tests. @internal
   */
  kernelCall(name: string, useRef: boolean, buffers: (NativeBuffer | null)[], ints: number[], nums: number[]): void;
}

export interface Binding extends CoreBinding, CudaBinding, GemmBinding, ReduceBinding, ElementwiseBinding, OptimBinding, EngineBinding, ScheduleBinding {}
