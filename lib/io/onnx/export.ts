/**
 * ONNX export for inference (opset 17, IR version 8): each layer lowers itself through its
 * definition's toOnnx (lib/layers/registry.ts); this file walks the graph, turns the current
 * weights into initializers and serialises the ModelProto with the protobuf code generated from
 * the official onnx.proto (npm `onnx-proto`, built on protobufjs). Dropout disappears; batch
 * normalisation uses its moving statistics. The input is `input` [batch, features], the output
 * `output` [batch, units], both float32 with a symbolic batch dimension.
 */
import { onnx } from 'onnx-proto';

import { ERR, NodetrainError } from '../../errors';
import { layerDefinition } from '../../layers/registry';
import type { OnnxAttribute, OnnxLowerContext } from '../../layers/registry';
import { isModel } from '../../model/internals';
import type { Model } from '../../model/model';
import * as v from '../../validate';
import { writeFileAtomic } from '../atomic';

export const ONNX_OPSET = 17;
const IR_VERSION = 8; // the IR version that goes with opset 17

export interface OnnxExportOptions {
  /** Return the serialised model as a Buffer instead of writing a file. */
  buffer: true;
}

function attribute(name: string, a: OnnxAttribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  return { name, type: T.STRING, s: Buffer.from(a.string, 'utf8') };
}

function valueInfo(name: string, width: number): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  };
}

/** The ONNX ModelProto of a model's current weights, serialised. */
export function onnxBytes(model: Model): Buffer {
  if (!isModel(model)) throw v.typeError('a Model', 'model', model);
  const weights = model.getWeights();
  const g = model.graph;
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const used = new Set<string>();
  const names: string[] = [];
  let counter = 0;
  const tensor = (name: string, data: Float32Array, shape: number[]): string => {
    if (!used.has(name)) {
      used.add(name);
      initializers.push({ name, dims: shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    }
    return name;
  };
  let inputWidth = 0;
  g.nodes.forEach((n, i) => {
    const def = layerDefinition(n.layer.type);
    const name = n.layer.name!;
    if (def.arity === 0) {
      inputWidth = n.width;
      names[i] = 'input';
      return;
    }
    if (!def.toOnnx) throw new NodetrainError(ERR.NOT_SUPPORTED, `Expected a layer with an ONNX lowering for ${name} but received a ${n.layer.type} layer`);
    const ctx: OnnxLowerContext = {
      name,
      inputs: n.inputs.map((k) => names[k]),
      inputWidths: n.inputs.map((k) => g.nodes[k].width),
      width: n.width,
      param: (role) => {
        const key = `${name}/${role}`;
        const w = weights[key];
        if (!w) throw new NodetrainError(ERR.INTERNAL, `The layer ${name} has no weight ${role}`);
        return tensor(key, w.data, w.shape);
      },
      constant: (suffix, values, shape) => tensor(`${name}/${suffix}`, Float32Array.from(values), shape),
      node: (opType, inputs, attrs = {}) => {
        const out = `${name}/${opType}_${counter++}`;
        nodes.push({ name: out, opType, input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, a]) => attribute(k, a)) });
        return out;
      },
    };
    names[i] = def.toOnnx(n.layer.config as never, ctx);
  });
  nodes.push({ name: 'output', opType: 'Identity', input: [names[g.output]], output: ['output'] });
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'nodetrain',
    graph: {
      name: 'nodetrain',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', inputWidth)],
      output: [valueInfo('output', g.nodes[g.output].width)],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/**
 * Exports a model for inference as an ONNX file (opset 17): Gemm, the activations (PReLU, GELU
 * written out with Tanh), Softmax, BatchNormalization (inference), LayerNormalization, Add and
 * Concat; dropout is dropped. Input `input` and output `output`, both [batch, features] float32.
 * @returns the bytes with `{buffer: true}`, else nothing once the file is written (atomically)
 * @throws NodetrainError ERR_NT_NOT_SUPPORTED for a layer without an ONNX lowering
 * @example await exportOnnx(model, 'model.onnx');
 * @example const bytes = await exportOnnx(model, {buffer: true});
 */
export async function exportOnnx(model: Model, target: OnnxExportOptions): Promise<Buffer>;
export async function exportOnnx(model: Model, target: string): Promise<void>;
export async function exportOnnx(model: Model, target: string | OnnxExportOptions): Promise<Buffer | void> {
  if (typeof target === 'object' && target !== null) {
    v.knownKeys('exportOnnx options', target as unknown as Record<string, unknown>, ['buffer']);
    if (target.buffer !== true) throw v.typeError('true', 'buffer', target.buffer);
    return onnxBytes(model);
  }
  v.string('file', target);
  await writeFileAtomic(target, onnxBytes(model));
}
