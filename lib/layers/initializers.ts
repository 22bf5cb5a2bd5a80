/**
 * Weight initializers with Keras's definitions (fan_in = inputs, fan_out = units):
 * glorot (Glorot & Bengio 2010) limit sqrt(6 / (fan_in + fan_out)), he (He et al. 2015)
 * sqrt(6 / fan_in), lecun sqrt(3 / fan_in) for the uniform variants; the normal variants draw from a
 * normal truncated at two standard deviations, rescaled by 0.87962566103423978 (the stddev of a
 * unit normal truncated to [-2, 2]) as Keras's VarianceScaling does, with variance 2/(in+out),
 * 2/in and 1/in respectively.
 */
import type { Rng } from '../data/random';

export const INITIALIZERS = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'lecunUniform',
  'lecunNormal',
  'zeros',
  'ones',
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];
/** An initializer name or `{constant: value}`. */
export type Initializer = InitializerName | { constant: number };

function truncatedNormal(rng: Rng, std: number): number {
  for (;;) {
    const z = rng.normal();
    if (z >= -2 && z <= 2) return (z * std) / 0.87962566103423978;
  }
}

/** Fills `out` following the initializer. @internal */
export function initialize(init: Initializer, fanIn: number, fanOut: number, rng: Rng, out: Float32Array): void {
  if (typeof init === 'object') {
    out.fill(init.constant);
    return;
  }
  let limit = 0;
  let std = 0;
  switch (init) {
    case 'zeros':
      out.fill(0);
      return;
    case 'ones':
      out.fill(1);
      return;
    case 'glorotUniform':
      limit = Math.sqrt(6 / (fanIn + fanOut));
      break;
    case 'heUniform':
      limit = Math.sqrt(6 / fanIn);
      break;
    case 'lecunUniform':
      limit = Math.sqrt(3 / fanIn);
      break;
    case 'glorotNormal':
      std = Math.sqrt(2 / (fanIn + fanOut));
      break;
    case 'heNormal':
      std = Math.sqrt(2 / fanIn);
      break;
    case 'lecunNormal':
      std = Math.sqrt(1 / fanIn);
      break;
  }
  if (limit > 0) {
    for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * limit;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = truncatedNormal(rng, std);
  }
}
