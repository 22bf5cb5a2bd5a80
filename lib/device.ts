/**
 * Device selection: `compile({ device })` and `cudaDevices()`. The CUDA backend lives in a separate
 * build of the addon (`npm run build:cuda`, loaded with NODETRAIN_BACKEND=cuda); the default build
 * is CPU-only. Asking for CUDA where it cannot run throws ERR_NT_NO_DEVICE, saying whether the
 * build or the machine lacks it.
 */
import { ERR, NodetrainError } from './errors';
import { binding } from './native';
import type { CudaDevice, CudaInfo } from './native/cuda';
import * as v from './validate';

export type { CudaDevice, CudaInfo } from './native/cuda';

/** Where a compiled model trains. */
export type Device = 'cpu' | 'cuda';
export const DEVICES: readonly Device[] = ['cpu', 'cuda'];

/**
 * What the loaded addon knows about CUDA: whether it was built with the backend, whether a device
 * is usable, why not, and the devices.
 * @throws NodetrainError ERR_NT_LOAD when the addon cannot load.
 */
export function cudaInfo(): CudaInfo {
  return binding().cudaInfo();
}

/**
 * The CUDA devices the loaded build can use: an empty array on the CPU-only build or on a machine
 * without an NVIDIA GPU and driver.
 * @example if (cudaDevices().length) model.compile({ ...opts, device: 'cuda' });
 */
export function cudaDevices(): CudaDevice[] {
  const info = cudaInfo();
  return info.available ? info.devices : [];
}

/**
 * Validates a device option against what the build and the machine offer. Pure: `info` is the
 * addon's report (tests pass their own).
 * @throws RangeError for a device name other than 'cpu' or 'cuda'.
 * @throws NodetrainError ERR_NT_NO_DEVICE when CUDA is asked for and the build or the machine lacks it.
 */
export function checkDevice(value: unknown, info: () => CudaInfo = cudaInfo): Device {
  if (value === undefined) return 'cpu';
  if (typeof value !== 'string' || !(DEVICES as readonly string[]).includes(value)) {
    throw v.rangeError("'cpu' or 'cuda'", 'device', value);
  }
  if (value === 'cpu') return 'cpu';
  const i = info();
  if (!i.built) {
    throw new NodetrainError(
      ERR.NO_DEVICE,
      "Expected a build with the CUDA backend for device 'cuda' but received the CPU-only build: this build lacks CUDA. " +
        'Build it with `npm run build:cuda` and load it with NODETRAIN_BACKEND=cuda, or use device: \'cpu\'',
    );
  }
  if (!i.available) {
    throw new NodetrainError(
      ERR.NO_DEVICE,
      `Expected a usable CUDA device for device 'cuda' but received none: this machine lacks CUDA (${i.reason}). ` +
        "Run on a machine with an NVIDIA GPU and driver, or use device: 'cpu'",
    );
  }
  return 'cuda';
}
