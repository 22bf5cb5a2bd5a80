/**
 * Native optimizer-step functions (see native/binding/optim_binding.cc and native/kernels/optim.cc).
 *
 * Each step updates `param` and the state buffers in place, in one fused pass over the first `n`
 * elements (`n` undefined = param.length). Every buffer must be float32, hold at least `n`
 * elements and not overlap the others. The stored gradient is never modified. Hyperparameter
 * fields left out take the kernel defaults; `step` is the 1-based step count after increment
 * (PyTorch's t). `useRef` runs the scalar single-threaded `_ref` twin instead of the fast kernel.
 * Out-of-range hyperparameters and overlapping arrays throw an Error with code
 * ERR_NT_INVALID_ARGUMENT_TYPE / ERR_NT_INVALID_ARGUMENT_VALUE (the public API in lib/optim/steps.ts validates first, with friendlier
 * messages).
 */
import type { NativeBuffer } from './binding';

/** Common fields: `maximize` negates the gradient, `gradScale` multiplies it first. */
export interface NativeStepCommon {
  weightDecay?: number;
  maximize?: boolean;
  gradScale?: number;
  /** 1-based step count after increment. */
  step?: number;
}

export interface NativeSgdParams extends NativeStepCommon {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

export interface NativeAdamParams extends NativeStepCommon {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** true: AdamW (decoupled weight decay); false: Adam with L2 added to the gradient. */
  decoupled?: boolean;
  amsgrad?: boolean;
}

export interface NativeRmspropParams extends NativeStepCommon {
  lr?: number;
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
}

export interface NativeAdagradParams extends NativeStepCommon {
  lr?: number;
  lrDecay?: number;
  eps?: number;
}

export interface OptimBinding {
  /** SGD; momentumBuf is required when hp.momentum != 0 (step 1 initialises it to the gradient). */
  sgdStep(
    param: NativeBuffer,
    grad: NativeBuffer,
    momentumBuf: NativeBuffer | null,
    n: number | undefined,
    hp: NativeSgdParams,
    useRef?: boolean,
  ): void;
  /** Adam / AdamW; vmax (running max of v) is required when hp.amsgrad. */
  adamStep(
    param: NativeBuffer,
    grad: NativeBuffer,
    m: NativeBuffer,
    v: NativeBuffer,
    vmax: NativeBuffer | null,
    n: number | undefined,
    hp: NativeAdamParams,
    useRef?: boolean,
  ): void;
  /** RMSprop; buf is required when hp.momentum > 0, gavg when hp.centered. */
  rmspropStep(
    param: NativeBuffer,
    grad: NativeBuffer,
    sq: NativeBuffer,
    buf: NativeBuffer | null,
    gavg: NativeBuffer | null,
    n: number | undefined,
    hp: NativeRmspropParams,
    useRef?: boolean,
  ): void;
  /** Adagrad; sum is the accumulator (initialised to initialAccumulatorValue by the caller). */
  adagradStep(param: NativeBuffer, grad: NativeBuffer, sum: NativeBuffer, n: number | undefined, hp: NativeAdagradParams, useRef?: boolean): void;
}
