/**
 * ONNX lowering shared by the layer files: an activation as ONNX nodes (opset 17). GELU is the
 * tanh approximation the native kernel computes (ONNX's Gelu op needs opset 20), written out as
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 */
import type { ActivationName } from './common';
import type { OnnxLowerContext } from './registry';

/** Applies `act` (with its alpha) to tensor `x`; returns the result's name. @internal */
export function onnxActivation(ctx: OnnxLowerContext, act: ActivationName, alpha: number | undefined, x: string): string {
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return ctx.node('Relu', [x]);
    case 'leakyRelu':
      return ctx.node('LeakyRelu', [x], { alpha: { float: alpha ?? 0.2 } });
    case 'elu':
      return ctx.node('Elu', [x], { alpha: { float: alpha ?? 1 } });
    case 'sigmoid':
      return ctx.node('Sigmoid', [x]);
    case 'tanh':
      return ctx.node('Tanh', [x]);
    case 'softplus':
      return ctx.node('Softplus', [x]);
    case 'softmax':
      return ctx.node('Softmax', [x], { axis: { int: -1 } });
    case 'gelu': {
      const x3 = ctx.node('Mul', [ctx.node('Mul', [x, x]), x]);
      const inner = ctx.node('Add', [x, ctx.node('Mul', [x3, ctx.constant('gelu_k', [0.044715], [])])]);
      const t = ctx.node('Tanh', [ctx.node('Mul', [inner, ctx.constant('gelu_c', [Math.sqrt(2 / Math.PI)], [])])]);
      const onePlus = ctx.node('Add', [t, ctx.constant('one', [1], [])]);
      return ctx.node('Mul', [ctx.node('Mul', [x, onePlus]), ctx.constant('half', [0.5], [])]);
    }
    default: {
      const never: never = act;
      throw new Error(`no ONNX lowering for activation ${String(never)}`);
    }
  }
}
