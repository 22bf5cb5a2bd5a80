/** Add: the element-wise sum of two or more inputs of equal width (residual connections). */
import * as v from '../validate';
import { common } from './common';
import { Layer } from './layer';
import { cleanJSON, configJSON, noParams, registerLayer } from './registry';

export interface AddConfig {
  type: 'add';
  name?: string;
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    add: AddConfig;
  }
}

/** Element-wise sum of two or more inputs of equal width (residual connections). */
export function add(opts: { name?: string } = {}): Layer {
  const o = v.plainObject('add options', opts);
  v.knownKeys('add options', o, ['name']);
  return new Layer({ type: 'add', ...common('add', o) });
}

registerLayer<AddConfig>({
  type: 'add',
  className: 'Add',
  arity: 'many',
  outputWidth: (_c, widths) => {
    const w = widths[0];
    widths.forEach((x, i) => {
      if (x !== w) throw v.rangeError(`an input of width ${w} (add needs equal widths)`, `inputs[${i}]`, v.described(`width ${x}`));
    });
    return w;
  },
  params: noParams,
  lower: (_c, { name, inputs, emit }) => emit({ op: 'add', name, inputs }),
  // ONNX Add is binary: a chain for three and more inputs.
  toOnnx: (_c, ctx) => ctx.inputs.slice(1).reduce((acc, x) => ctx.node('Add', [acc, x]), ctx.inputs[0]),
  label: (c) => c.type,
  toJSON: configJSON,
  fromJSON: (json) => add(cleanJSON(json) as never),
  toKeras: () => ({ className: 'Add', config: {} }),
  fromKeras: () => add(),
});
