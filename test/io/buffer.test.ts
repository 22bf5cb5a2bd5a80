/**
 * model.toBuffer() / loadModel(buffer | stream): one self-contained safetensors file that gives
 * back the same predictions, compile options and optimizer state (training resumes exactly as
 * from a folder), validated as a folder is: tampered metadata, a missing, extra or reshaped
 * weight are errors with a code, never a crash.
 */
import { Readable } from 'stream';

import { Model, adam, batchNormalization, decodeSafetensors, dense, encodeSafetensors, loadModel, sequential, tensor } from '../../lib';
import { makeRng } from '../helpers/model';

function data(seed: number, n: number): { x: ReturnType<typeof tensor>; y: ReturnType<typeof tensor> } {
  const rng = makeRng(seed);
  const x = new Float32Array(n * 5).map(() => rng.normal());
  return { x: tensor(x, [n, 5]), y: tensor(x.filter((_, i) => i % 5 < 2).map((v) => Math.sin(v)), [n, 2]) };
}

async function trained(): Promise<Model> {
  const m = sequential([dense({ units: 12, activation: 'gelu', inputShape: [5] }), batchNormalization(), dense({ units: 2 })], { seed: 1 });
  m.compile({ optimizer: adam({ lr: 1e-2 }), loss: 'meanSquaredError', metrics: ['meanAbsoluteError'] });
  const { x, y } = data(1, 83);
  await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 1 });
  return m;
}

test('toBuffer round-trips weights, compile options, optimizer state and metadata, from bytes or a stream', async () => {
  const m = await trained();
  const bytes = await m.toBuffer({ metadata: { classes: ['a', 'b'] } });
  const f = decodeSafetensors(bytes);
  expect(f.metadata.format).toBe('nodetrain-model');
  expect(JSON.parse(f.metadata.model).training.optimizer.type).toBe('adam');
  expect(Number(f.metadata.optimizer_step)).toBe(m.optimizerStep);
  const { x, y } = data(2, 31);
  const want = (await m.predict(x)).data();
  for (const source of [bytes, Readable.from([bytes.subarray(0, 100), bytes.subarray(100)])]) {
    const { model: back, metadata } = await loadModel(source);
    expect(metadata).toEqual({ classes: ['a', 'b'] });
    expect(back.compileConfig).toEqual(m.compileConfig);
    expect((await back.predict(x)).data()).toEqual(want);
    expect(back.getOptimizerState()).toEqual(m.getOptimizerState());
    // training resumes exactly
    const a = m.clone();
    await a.fit(x, y, { epochs: 1, batchSize: 8, seed: 5 });
    await back.fit(x, y, { epochs: 1, batchSize: 8, seed: 5 });
    expect(back.getWeights()).toEqual(a.getWeights());
  }
  const noOpt = decodeSafetensors(await m.toBuffer({ includeOptimizer: false }));
  expect(Object.keys(noOpt.tensors).some((k) => k.startsWith('optimizer/'))).toBe(false);
});

test('a tampered buffer is refused as a tampered folder is', async () => {
  const m = await trained();
  const f = decodeSafetensors(await m.toBuffer());
  const rebuild = (tensors: typeof f.tensors, metadata = f.metadata): Buffer => encodeSafetensors(tensors, metadata);
  const code = async (b: Uint8Array): Promise<string | undefined> => loadModel(b).then(() => undefined, (e) => (e as { code?: string }).code);
  const { 'dense_1/kernel': kernel, ...withoutKernel } = f.tensors;
  expect(await code(rebuild(withoutKernel))).toBe('ERR_NT_WEIGHTS_MISMATCH');
  expect(await code(rebuild({ ...f.tensors, extra: kernel }))).toBe('ERR_NT_WEIGHTS_MISMATCH');
  expect(await code(rebuild({ ...f.tensors, 'dense_1/kernel': { ...kernel, shape: [kernel.shape[1], kernel.shape[0]] } }))).toBe('ERR_NT_WEIGHTS_MISMATCH');
  expect(await code(rebuild(f.tensors, { ...f.metadata, model: '{' }))).toBe('ERR_NT_CORRUPT_FILE');
  expect(await code(rebuild(f.tensors, { ...f.metadata, format: 'other' }))).toBe('ERR_NT_CORRUPT_FILE');
  const j = JSON.parse(f.metadata.model);
  j.graph.nodes[1].config.units = 13;
  expect(await code(rebuild(f.tensors, { ...f.metadata, model: JSON.stringify(j) }))).toBe('ERR_NT_WEIGHTS_MISMATCH');
  expect(await code(rebuild(f.tensors, { ...f.metadata, optimizer_hyper: '[1]' }))).toBe('ERR_NT_CORRUPT_FILE');
  const bytes = await m.toBuffer();
  expect(await code(bytes.subarray(0, bytes.length - 3))).toBe('ERR_NT_CORRUPT_FILE');
});
