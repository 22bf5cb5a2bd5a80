/** Concatenate: two or more inputs joined along the features (skip connections). */
import * as v from '../validate';
import { common } from './common';
import { Layer } from './layer';
import { requireLastAxis } from './keras';
import { cleanJSON, configJSON, noParams, registerLayer } from './registry';

export interface ConcatenateConfig {
  type: 'concatenate';
  name?: string;
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    concatenate: ConcatenateConfig;
  }
}

/** Concatenation of two or more inputs along the features (skip connections). */
export function concatenate(opts: { name?: string } = {}): Layer {
  const o = v.plainObject('concatenate options', opts);
  v.knownKeys('concatenate options', o, ['name']);
  return new Layer({ type: 'concatenate', ...common('concatenate', o) });
}

registerLayer<ConcatenateConfig>({
  type: 'concatenate',
  className: 'Concatenate',
  arity: 'many',
  outputWidth: (_c, widths) => widths.reduce((s, w) => s + w, 0),
  params: noParams,
  lower: (_c, { name, inputs, emit }) => emit({ op: 'concat', name, inputs }),
  toOnnx: (_c, ctx) => ctx.node('Concat', ctx.inputs, { axis: { int: 1 } }),
  label: (c) => c.type,
  toJSON: configJSON,
  fromJSON: (json) => concatenate(cleanJSON(json) as never),
  toKeras: () => ({ className: 'Concatenate', config: { axis: -1 } }),
  fromKeras: (cfg, ctx) => {
    requireLastAxis(cfg, 'axis', ctx);
    return concatenate();
  },
});
