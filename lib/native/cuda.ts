/** The CUDA entry points of the addon (native/binding/cuda_binding.cc), present in every build. */

/** One CUDA device as the runtime reports it. */
export interface CudaDevice {
  index: number;
  name: string;
  /** Compute capability, e.g. '9.0' for Hopper. */
  computeCapability: string;
  multiprocessors: number;
  /** Bytes of device memory. */
  totalMemory: number;
}

export interface CudaInfo {
  /** Whether this build of the addon has the CUDA backend (`npm run build:cuda`). */
  built: boolean;
  /** Whether the CUDA backend found a usable device. */
  available: boolean;
  /** Why CUDA is not available ('' when it is). */
  reason: string;
  /** The cuBLAS library opened at run time, which then runs every GEMM; null: the project's own kernels run (none found, or `NODETRAIN_CUBLAS=off`). */
  cublas: string | null;
  devices: CudaDevice[];
}

export interface CudaBinding {
  cudaInfo(): CudaInfo;
  /** Test entry: one CUDA kernel on host arrays (uploaded, run, downloaded in place). @internal */
  cudaKernel(name: string, buffers: Float32Array[], ints: number[], floats: number[]): number[];
  /** Benchmark entry: median milliseconds of `what` on the device. @internal */
  cudaBench(what: string, ints: number[]): number;
  /**
   * The host-side plan of a streamed data set (every build): budget 0 takes it from `env` (the
   * value of NODETRAIN_CUDA_DATA_BUDGET) or 3/4 of `freeBytes`. @internal
   */
  dataStreamPlan(
    rows: number,
    rowBytes: number,
    batch: number,
    budget: number,
    env?: string | null,
    freeBytes?: number,
  ): { budget: number; streamed: boolean; chunkRows: number; chunks: number; ranges: [number, number][] };
}
