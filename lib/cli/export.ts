/**
 * nodetrain export --model <dir> --format onnx|tfjs --out <path>: a saved model for serving
 * elsewhere. ONNX (opset 17, inference: dropout dropped, batch norm on its moving statistics) is
 * one file; TensorFlow.js layers-model export needs the library's exportTfjs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';

import * as nt from '../index';

function usage(msg: string): never {
  throw new nt.NodetrainError('ERR_NT_USAGE', msg);
}

export const EXPORT_HELP = `nodetrain export --model <dir> --format onnx|tfjs --out <path> [--json]
  --model <dir>        a model saved by train (or model.save)
  --format <name>      onnx (one .onnx file) or tfjs (a TensorFlow.js layers-model folder)
  --out <path>         the file (onnx) or folder (tfjs) to write
`;

export async function exportCommand(argv: string[]): Promise<Record<string, unknown>> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { model: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (a.help) {
    process.stdout.write(EXPORT_HELP);
    return {};
  }
  if (a.model === undefined) usage('Expected --model <dir> for export');
  if (a.format === undefined) usage('Expected --format onnx or --format tfjs for export');
  if (a.format !== 'onnx' && a.format !== 'tfjs') usage(`Expected onnx or tfjs for --format but received "${a.format}"`);
  if (a.out === undefined) usage('Expected --out <path> for export');
  // tfjs export comes from the library's exportTfjs, where this build has it.
  const exportTfjs = (nt as unknown as { exportTfjs?: (m: nt.Model, dir: string) => Promise<unknown> }).exportTfjs;
  if (a.format === 'tfjs' && typeof exportTfjs !== 'function') usage('Expected --format onnx: this build has no TensorFlow.js export');
  const { model } = await nt.loadModel(a.model);
  const out = path.resolve(a.out);
  if (a.format === 'onnx') {
    await nt.exportOnnx(model, out);
    const bytes = fs.statSync(out).size;
    process.stdout.write(`wrote ONNX (opset ${nt.ONNX_OPSET}) to ${out} (${bytes} bytes)\n`);
    return { format: 'onnx', out, bytes, opset: nt.ONNX_OPSET };
  }
  await exportTfjs!(model, out);
  process.stdout.write(`wrote a TensorFlow.js layers model to ${out}\n`);
  return { format: 'tfjs', out };
}
