/**
 * Batch normalisation with moving statistics for inference (Ioffe & Szegedy, 2015; Keras
 * conventions: momentum 0.99, epsilon 1e-3).
 */
import type { Layer } from './layer';
import { norm, normDefinition } from './layerNormalization';
import type { NormConfig } from './layerNormalization';
import { registerLayer } from './registry';

declare module './registry' {
  interface LayerConfigMap {
    batchNormalization: NormConfig;
  }
}

/**
 * Batch normalisation with moving statistics for inference (Ioffe & Szegedy, 2015; Keras
 * conventions: momentum 0.99, epsilon 1e-3).
 * @example batchNormalization({momentum: 0.9})
 */
export function batchNormalization(opts: { epsilon?: number; momentum?: number; center?: boolean; scale?: boolean; inputShape?: number[]; name?: string } = {}): Layer {
  return norm('batchNormalization', opts);
}

registerLayer(normDefinition('batchNormalization', 'BatchNormalization', 'batchNorm', true));
