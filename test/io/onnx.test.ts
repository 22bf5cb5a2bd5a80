/**
 * ONNX export checked by onnxruntime-node (a devDependency, run in a child process): the exported model's outputs equal
 * predict's within 1e-5 relative (||ort - predict|| / ||predict||) for an MLP with batch norm, a
 * functional model with add and concatenate skips, and a model with every activation (PReLU and
 * layer norm included), after training so the weights and moving statistics are not their
 * initial values. Inputs are fresh random rows of an awkward count.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';

import { ACTIVATIONS, Model, activation, adam, batchNormalization, concatenate, dense, dropout, exportOnnx, input, layerNormalization, layers, model, sequential, tensor } from '../../lib';
import { makeRng } from '../helpers/model';

function rows(seed: number, n: number, d: number): Float32Array {
  const rng = makeRng(seed);
  return new Float32Array(n * d).map(() => rng.normal() * 1.5);
}

// onnxruntime runs in a child Node process: its native binding makes typed arrays of Node's own
// realm, which its JavaScript side (inside jest's sandbox) would refuse.
const ORT_SCRIPT = `
const ort = require('onnxruntime-node');
const fs = require('fs');
const [modelFile, inFile, outFile, n, d] = process.argv.slice(1);
(async () => {
  const b = fs.readFileSync(inFile);
  const x = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const s = await ort.InferenceSession.create(modelFile);
  const r = await s.run({ input: new ort.Tensor('float32', x, [Number(n), Number(d)]) });
  fs.writeFileSync(outFile, Buffer.from(r.output.data.buffer));
  process.stdout.write(JSON.stringify(r.output.dims));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function runOrt(bytes: Buffer, xs: Float32Array, n: number, d: number): { dims: number[]; data: Float32Array } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-ort-'));
  try {
    const [mf, inf, outf] = ['m.onnx', 'x.bin', 'y.bin'].map((f) => path.join(dir, f));
    fs.writeFileSync(mf, bytes);
    fs.writeFileSync(inf, Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength));
    const dims = JSON.parse(execFileSync(process.execPath, ['-e', ORT_SCRIPT, mf, inf, outf, String(n), String(d)], { cwd: process.cwd(), encoding: 'utf8' })) as number[];
    const o = fs.readFileSync(outf);
    return { dims, data: new Float32Array(o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function trained(m: Model, d: number, k: number, seed: number): Promise<Model> {
  m.compile({ optimizer: adam({ lr: 5e-3 }), loss: 'meanSquaredError' });
  const n = 97;
  const x = tensor(rows(seed, n, d), [n, d]);
  const y = tensor(rows(seed + 1, n, k).map((v) => Math.tanh(v)), [n, k]);
  await m.fit(x, y, { epochs: 3, batchSize: 16, seed });
  return m;
}

async function parity(m: Model, seed: number): Promise<number> {
  const n = 61;
  const d = m.inputWidth;
  const xs = rows(seed, n, d);
  const want = (await m.predict(tensor(xs, [n, d]))).data() as Float32Array;
  const bytes = await exportOnnx(m, { buffer: true });
  const out = runOrt(bytes, xs, n, d);
  const got = out.data;
  expect(out.dims).toEqual([n, m.outputWidth]);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  expect(den).toBeGreaterThan(0);
  return Math.sqrt(num / den);
}

test('an MLP with batch norm and dropout', async () => {
  const m = await trained(sequential([dense({ units: 37, activation: 'relu', inputShape: [13] }), batchNormalization(), dropout({ rate: 0.3 }), dense({ units: 19, activation: 'tanh' }), batchNormalization({ center: false }), dense({ units: 5 })], { seed: 1 }), 13, 5, 1);
  expect(await parity(m, 11)).toBeLessThan(1e-5);
});

test('a functional model with add and concatenate skips and a softmax head', async () => {
  const inp = input({ shape: [11] });
  const a = dense({ units: 23, activation: 'relu' }).apply(inp);
  const b = dense({ units: 23, activation: 'sigmoid' }).apply(a);
  const s = layers.add().apply(a, b);
  const c = concatenate().apply(s, inp, b);
  const out = dense({ units: 4, activation: 'softmax' }).apply(layerNormalization().apply(c));
  const m = await trained(model({ inputs: inp, outputs: out, seed: 2 }), 11, 4, 2);
  expect(await parity(m, 12)).toBeLessThan(1e-5);
});

test('a model with every activation, PReLU and layer norm', async () => {
  const acts = ACTIVATIONS.filter((a) => a !== 'softmax');
  const ls = [dense({ units: 17, inputShape: [9] })];
  for (const act of acts) {
    ls.push(dense({ units: 17, activation: act }));
    ls.push(activation({ activation: act }));
  }
  ls.push(layers.prelu(), layerNormalization({ scale: false }), dense({ units: 6 }), activation({ activation: 'softmax' }));
  const m = await trained(sequential(ls, { seed: 3 }), 9, 6, 3);
  expect(acts).toEqual(expect.arrayContaining(['relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus']));
  expect(await parity(m, 13)).toBeLessThan(1e-5);
});

test('a file is written atomically; unsupported arguments are refused', async () => {
  const m = sequential([dense({ units: 3, inputShape: [4] })], { seed: 4 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-onnx-'));
  try {
    const file = path.join(dir, 'm.onnx');
    expect(await exportOnnx(m, file)).toBeUndefined();
    expect(fs.readFileSync(file).equals(await exportOnnx(m, { buffer: true }))).toBe(true);
    await expect(exportOnnx(m, { buffer: false } as never)).rejects.toThrow('Expected true for buffer but received false');
    await expect(exportOnnx({} as Model, file)).rejects.toThrow('Expected a Model for model but received an object');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
