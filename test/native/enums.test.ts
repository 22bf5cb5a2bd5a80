/**
 * One source of truth for the enums that cross the boundary: the TypeScript tables in
 * lib/native/enums.ts must list exactly the names native/include/nodetrain/enums.h lists, in the
 * same order, and the ops the TypeScript layer lowers to must be registered in the addon.
 */
import { binding } from '../../lib/native';
import {
  NATIVE_ACTIVATIONS,
  NATIVE_DEVICES,
  NATIVE_LOSSES,
  NATIVE_METRICS,
  NATIVE_OPTIMIZERS,
  NATIVE_PRECISIONS,
  NATIVE_STATUS_CODES,
} from '../../lib/native/enums';

describe('native enum tables', () => {
  const tables = binding().enums();

  it('activations, losses, metrics, optimizers, precisions, devices and status codes equal the TypeScript tables', () => {
    expect(tables.activations).toEqual([...NATIVE_ACTIVATIONS]);
    expect(tables.losses).toEqual([...NATIVE_LOSSES]);
    expect(tables.metrics).toEqual([...NATIVE_METRICS]);
    expect(tables.optimizers).toEqual([...NATIVE_OPTIMIZERS]);
    expect(tables.precisions).toEqual([...NATIVE_PRECISIONS]);
    expect(tables.devices).toEqual([...NATIVE_DEVICES]);
    expect(tables.statusCodes).toEqual([...NATIVE_STATUS_CODES]);
  });

  it('registers every op the layers lower to, each once', () => {
    const ops = ['input', 'dense', 'activation', 'softmax', 'dropout', 'layerNorm', 'batchNorm', 'add', 'concat', 'prelu'];
    for (const op of ops) expect(tables.ops).toContain(op);
    expect(new Set(tables.ops).size).toBe(tables.ops.length);
  });

  it('native failures carry codes from the table: a wrong type and a bad value differ', () => {
    const b = binding();
    const x = new b.NativeBuffer(0, 4);
    const codeOf = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    expect(codeOf(() => b.actForward(1 as never, 0, x, 4, x, false))).toBe('ERR_NT_INVALID_ARGUMENT_TYPE');
    expect(codeOf(() => b.actForward('swish' as never, 0, x, 4, x, false))).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
    x.dispose();
    expect(codeOf(() => b.actForward('relu', 0, x, 4, x, false))).toBe('ERR_NT_DISPOSED');
    for (const code of ['ERR_NT_INVALID_ARGUMENT_TYPE', 'ERR_NT_INVALID_ARGUMENT_VALUE', 'ERR_NT_DISPOSED']) {
      expect(NATIVE_STATUS_CODES).toContain(code);
    }
  });

  it('a spec naming an unknown op, activation or loss is refused with the names it accepts', () => {
    const b = binding();
    const base = {
      nodes: [
        { op: 'input', name: 'in', inputs: [], attrs: { units: 3 } },
        { op: 'dense', name: 'd', inputs: [0], attrs: { units: 2, activation: 'relu' } },
      ],
      output: 1,
      loss: { kind: 'meanSquaredError' },
      metrics: [],
      optimizer: { kind: 'sgd', lr: 0.1 },
      targetWidth: 2,
      sparseLabels: false,
      seed: 1,
    };
    const make = (spec: unknown): unknown => new b.NativeModel(spec as never, 4);
    expect(() => make(base)).not.toThrow();
    const badOp = { ...base, nodes: [base.nodes[0], { ...base.nodes[1], op: 'conv2d' }] };
    expect(() => make(badOp)).toThrow(/^Expected one of .*'dense'.* for the op of layer 'd' but received "conv2d"$/);
    const badAct = { ...base, nodes: [base.nodes[0], { ...base.nodes[1], attrs: { units: 2, activation: 'swish' } }] };
    expect(() => make(badAct)).toThrow(/^Expected one of 'linear', .* for d\.attrs\.activation but received "swish"$/);
    const badType = { ...base, nodes: [base.nodes[0], { ...base.nodes[1], attrs: { units: '2' } }] };
    expect(() => make(badType)).toThrow(expect.objectContaining({ code: 'ERR_NT_INVALID_ARGUMENT_TYPE' }));
    const unknownAttr = { ...base, nodes: [base.nodes[0], { ...base.nodes[1], attrs: { units: 2, rate: 0.5 } }] };
    expect(() => make(unknownAttr)).toThrow('but received "rate"');
    expect(() => make({ ...base, loss: { kind: 'hinge' } })).toThrow(/for spec\.loss\.kind but received "hinge"$/);
    expect(() => make({ ...base, optimizer: { kind: 'lamb' } })).toThrow(/for optimizer\.kind but received "lamb"$/);
    expect(() => make({ ...base, metrics: ['auc'] })).toThrow(/for spec\.metrics\[0\] but received "auc"$/);
  });
});
