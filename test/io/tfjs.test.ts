/**
 * TensorFlow.js layers-model import and export against the real tfjs-layers 4.22: predictions of
 * imported models equal tfjs's (1e-5 relative), exported models load in tfjs with equal outputs,
 * round trips keep names, trainable flags and batch-norm statistics, and bad files fail with
 * ERR_NT_UNSUPPORTED / ERR_NT_CORRUPT_FILE.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { adam, batchNormalization, dense, dropout, exportTfjs, input, layerNormalization, layers, loadTfjsModel, model as fmodel, sequential, tensor, activation } from '../../lib';

const { add, concatenate } = layers;
import type { Model } from '../../lib';
import { makeRng } from '../helpers/model';
import { randomizeTfjs, readTfjs, relErr, tf, tfPredict, tfReady, tl, writeTfjs } from '../helpers/tfjs';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'nt-tfjs-'));

function randX(rows: number, cols: number, seed: number): Float32Array {
  const r = makeRng(seed);
  return Float32Array.from({ length: rows * cols }, () => r.normal());
}

async function ntPredict(m: Model, x: Float32Array, rows: number, cols: number): Promise<Float32Array> {
  return (await m.predict(tensor(x, [rows, cols]))).data() as Float32Array;
}

beforeAll(async () => {
  await tfReady();
});

/** MLP with batch norm and dropout, every Dense activation nodetrain imports. */
function tfMlp(): any {
  return tl.sequential({
    layers: [
      tl.layers.dense({ units: 13, inputShape: [7], activation: 'relu', name: 'h1' }),
      tl.layers.batchNormalization({ name: 'bn1' }),
      tl.layers.dropout({ rate: 0.3 }),
      tl.layers.dense({ units: 11, activation: 'tanh' }),
      tl.layers.dense({ units: 9, activation: 'sigmoid', useBias: false }),
      tl.layers.dense({ units: 8, activation: 'elu' }),
      tl.layers.dense({ units: 8, activation: 'softplus' }),
      tl.layers.dense({ units: 6, activation: 'relu' }),
      tl.layers.batchNormalization({ center: false, scale: false, momentum: 0.9, epsilon: 1e-2 }),
      tl.layers.dense({ units: 5, activation: 'linear' }),
      tl.layers.dense({ units: 4, activation: 'softmax', name: 'out' }),
    ],
  });
}

/** Functional model: an add skip, a concatenate, PReLU, layer norm, activation layers, flatten. */
function tfFunctional(): any {
  const x = tl.input({ shape: [10], name: 'features' });
  const h = tl.layers.dense({ units: 10, activation: 'relu', name: 'res' }).apply(x);
  const s = tl.layers.add({ name: 'skip' }).apply([x, h]);
  const p = tl.layers.prelu({ name: 'pr' }).apply(tl.layers.dense({ units: 6 }).apply(s));
  const c = tl.layers.concatenate({ name: 'cat' }).apply([s, p, x]);
  const n = tl.layers.layerNormalization({ name: 'ln' }).apply(c);
  const l = tl.layers.leakyReLU({ alpha: 0.1 }).apply(n);
  const f = tl.layers.activation({ activation: 'tanh' }).apply(l);
  const e = tl.layers.elu().apply(tl.layers.dense({ units: 5 }).apply(f));
  const y = tl.layers.dense({ units: 3, name: 'head' }).apply(tl.layers.batchNormalization().apply(e));
  return tl.model({ inputs: x, outputs: y });
}

describe('loadTfjsModel: predictions equal TensorFlow.js', () => {
  const cases: [string, () => any, number, Parameters<typeof writeTfjs>[2]][] = [
    ['an MLP with batch norm and dropout', tfMlp, 7, {}],
    ['a functional model with add, concatenate, PReLU and layer norm', tfFunctional, 10, {}],
    ['a uint8-quantised MLP over several groups and shards', tfMlp, 7, { quantize: 'uint8', perGroup: 5, shardBytes: 64 }],
    ['a uint16-quantised functional model in three groups', tfFunctional, 10, { quantize: 'uint16', perGroup: 7, shardBytes: 100 }],
    ['a float16 functional model', tfFunctional, 10, { quantize: 'float16', shardBytes: 37 }],
  ];
  it.each(cases)('%s', async (_name, make, cols, opts) => {
    const m = make();
    randomizeTfjs(m, makeRng(cols * 7 + (opts?.perGroup ?? 0)).next);
    const dir = tmp();
    await writeTfjs(m, dir, opts);
    // tfjs itself reads the same files (its own dequantisation) as the reference.
    const ref = await readTfjs(dir);
    const nt = await loadTfjsModel(path.join(dir, 'model.json'));
    for (const rows of [1, 37]) {
      const x = randX(rows, cols, rows);
      const want = tfPredict(ref, x, rows, cols);
      const got = await ntPredict(nt, x, rows, cols);
      expect(relErr(got, want)).toBeLessThan(1e-5);
    }
    expect(nt.layers.map((l) => l.name)).toEqual(expect.arrayContaining(ref.layers.filter((l: any) => l.getClassName() !== 'InputLayer').map((l: any) => l.name)));
    if (opts?.quantize) {
      // Dequantised weights differ from the originals by at most half a step.
      const orig = Object.fromEntries(m.weights.map((w: any) => [w.originalName, w.read().dataSync()]));
      for (const [k, w] of Object.entries(nt.getWeights())) {
        if (opts.quantize === 'float16') expect(relErr(w.data, orig[k])).toBeLessThan(1e-3);
        else expect(relErr(w.data, orig[k])).toBeLessThan(opts.quantize === 'uint8' ? 2e-2 : 1e-4);
      }
    }
  });

  it('reads gelu_new (the tanh GELU tfjs writes) and a Flatten of rank-2 inputs', async () => {
    const m = tl.sequential({ layers: [tl.layers.dense({ units: 5, inputShape: [4], activation: 'gelu_new', name: 'g' }), tl.layers.dense({ units: 3, name: 'o' })] });
    randomizeTfjs(m, makeRng(3).next);
    const dir = tmp();
    await writeTfjs(m, dir);
    // Python Keras accepts Flatten on rank-2 inputs (tfjs-layers does not): insert one by hand.
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    j.modelTopology.config.layers.splice(1, 0, { class_name: 'Flatten', config: { name: 'flat', data_format: 'channels_last', trainable: true } });
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
    const nt = await loadTfjsModel(dir);
    expect(nt.layers.map((l) => l.type)).toEqual(['dense', 'flatten', 'dense']);
    const x = randX(9, 4, 1);
    expect(relErr(await ntPredict(nt, x, 9, 4), tfPredict(m, x, 9, 4))).toBeLessThan(1e-5);
  });

  it('keeps trainable flags and reads a folder path', async () => {
    const m = tfMlp();
    m.getLayer('h1').trainable = false;
    m.getLayer('bn1').trainable = false;
    const dir = tmp();
    await writeTfjs(m, dir);
    const nt = await loadTfjsModel(dir);
    expect(nt.getLayer('h1').trainable).toBe(false);
    expect(nt.getLayer('bn1').trainable).toBe(false);
    expect(nt.getLayer('out').trainable).toBe(true);
  });
});

function ntMlp(seed: number): Model {
  return sequential([
    dense({ units: 12, activation: 'relu', inputShape: [6], name: 'body1' }),
    batchNormalization({ name: 'bn', momentum: 0.8 }),
    dropout({ rate: 0.2 }),
    dense({ units: 9, activation: 'sigmoid' }),
    layers.prelu({ alphaInitializer: { constant: 0.25 } }),
    activation({ activation: 'leakyRelu', alpha: 0.1 }),
    dense({ units: 4, activation: 'softmax', name: 'head' }),
  ], { seed });
}

function ntFunctional(seed: number): Model {
  const x = input({ shape: [6], name: 'x' });
  const h = dense({ units: 6, activation: 'tanh' }).apply(x);
  const s = add().apply(x, h);
  const c = concatenate().apply(s, dense({ units: 3, activation: 'sigmoid' }).apply(x));
  const n = layerNormalization({ epsilon: 1e-5 }).apply(c);
  const b = batchNormalization({ center: false }).apply(activation({ activation: 'elu' }).apply(n));
  return fmodel({ inputs: x, outputs: dense({ units: 2, name: 'y' }).apply(layers.flatten().apply(b)), seed });
}

/** Trains briefly so the batch-norm moving statistics move away from 0 / 1. */
async function trainBriefly(m: Model, classes: number): Promise<void> {
  const n = 64;
  const x = randX(n, 6, 3);
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 6] > 0 ? 1 : 0) % classes);
  m.compile({ optimizer: adam({ lr: 0.01 }), loss: classes > 2 ? 'sparseCategoricalCrossentropy' : 'meanSquaredError' });
  if (classes > 2) await m.fit(tensor(x, [n, 6]), tensor(y, [n], 'int32'), { epochs: 2, batchSize: 16, seed: 1 });
  else await m.fit(tensor(x, [n, 6]), tensor(Float32Array.from({ length: 2 * n }, (_, i) => x[i] * 0.5), [n, 2]), { epochs: 2, batchSize: 16, seed: 1 });
}

describe('exportTfjs: TensorFlow.js loads the model with equal outputs', () => {
  it.each([
    ['a sequential MLP', ntMlp, 4],
    ['a functional model', ntFunctional, 2],
  ] as const)('%s', async (_n, make, classes) => {
    const m = make(5);
    await trainBriefly(m, classes);
    const bn = Object.entries(m.getWeights()).filter(([k]) => k.includes('moving_mean'));
    expect(bn.length).toBeGreaterThan(0);
    expect(bn.some(([, w]) => w.data.some((x) => Math.abs(x) > 1e-3))).toBe(true);
    const dir = tmp();
    await exportTfjs(m, dir);
    const t = await readTfjs(dir);
    const x = randX(29, 6, 11);
    expect(relErr(tfPredict(t, x, 29, 6), await ntPredict(m, x, 29, 6))).toBeLessThan(1e-5);
    // tfjs sees the same names and weights.
    const tw = Object.fromEntries(t.weights.map((w: any) => [w.originalName, w.read().dataSync()]));
    for (const [k, w] of Object.entries(m.getWeights())) expect(Array.from(tw[k])).toEqual(Array.from(w.data));
  });

  it('round-trips nodetrain -> tfjs -> nodetrain keeping names, trainable flags and moving statistics', async () => {
    const m = ntMlp(9);
    await trainBriefly(m, 4);
    m.getLayer('body1').trainable = false;
    m.getLayer('bn').trainable = false;
    const d1 = tmp();
    await exportTfjs(m, d1);
    const t = await readTfjs(d1);
    expect(t.getLayer('body1').trainable).toBe(false);
    expect(t.getLayer('bn').trainable).toBe(false);
    const d2 = tmp();
    await writeTfjs(t, d2, { perGroup: 3 });
    const back = await loadTfjsModel(d2);
    expect(back.layers.map((l) => [l.name, l.type, l.trainable])).toEqual(m.layers.map((l) => [l.name, l.type, l.trainable]));
    const w0 = m.getWeights();
    const w1 = back.getWeights();
    expect(Object.keys(w1).sort()).toEqual(Object.keys(w0).sort());
    for (const k of Object.keys(w0)) expect(Array.from(w1[k].data)).toEqual(Array.from(w0[k].data));
    expect(back.getLayer('bn').config).toEqual(expect.objectContaining({ momentum: 0.8, epsilon: 1e-3 }));
    const x = randX(17, 6, 2);
    expect(Array.from(await ntPredict(back, x, 17, 6))).toEqual(Array.from(await ntPredict(m, x, 17, 6)));
  });

  it('round-trips tfjs -> nodetrain -> tfjs', async () => {
    const t = tfFunctional();
    randomizeTfjs(t, makeRng(4).next);
    t.getLayer('res').trainable = false;
    const d1 = tmp();
    await writeTfjs(t, d1);
    const nt = await loadTfjsModel(d1);
    const d2 = tmp();
    await exportTfjs(nt, d2);
    const t2 = await readTfjs(d2);
    expect(t2.getLayer('res').trainable).toBe(false);
    // An ELU layer (alpha 1) comes back as an elu Activation: the same function.
    const names = (mm: any): string[] => mm.layers.map((l: any) => `${l.name}:${l.getClassName().replace(/^ELU$/, 'Activation')}`).sort();
    expect(names(t2)).toEqual(names(t));
    const x = randX(8, 10, 5);
    expect(relErr(tfPredict(t2, x, 8, 10), tfPredict(t, x, 8, 10))).toBeLessThan(1e-6);
  });

  it('replaces an earlier export atomically and removes its shards', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'x');
    await exportTfjs(ntMlp(1), dir);
    const first = fs.readdirSync(dir).filter((f) => f.endsWith('.bin'));
    await exportTfjs(ntFunctional(2), dir);
    const files = fs.readdirSync(dir);
    expect(files).toContain('keep.txt');
    expect(files.filter((f) => first.includes(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
    expect((await loadTfjsModel(dir)).layers.map((l) => l.name)).toContain('y');
  });

  it('refuses a dense leakyRelu, which Keras cannot express, with ERR_NT_UNSUPPORTED', async () => {
    const m = sequential([dense({ units: 3, activation: 'leakyRelu', inputShape: [2], name: 'lk' })]);
    await expect(exportTfjs(m, tmp())).rejects.toMatchObject({ code: 'ERR_NT_UNSUPPORTED', message: expect.stringContaining("layer 'lk' (Dense)") });
  });
});

describe('loadTfjsModel: bad files', () => {
  let base: string;
  let json: any;
  beforeAll(async () => {
    await tfReady();
    base = tmp();
    const m = tfMlp();
    randomizeTfjs(m, makeRng(1).next);
    await writeTfjs(m, base, { perGroup: 6, shardBytes: 200 });
    json = JSON.parse(fs.readFileSync(path.join(base, 'model.json'), 'utf8'));
  });

  /** A copy of the good model with model.json edited (or replaced by text). */
  function variant(edit: (j: any, dir: string) => unknown): string {
    const dir = tmp();
    for (const f of fs.readdirSync(base)) fs.copyFileSync(path.join(base, f), path.join(dir, f));
    const j = JSON.parse(JSON.stringify(json));
    const r = edit(j, dir);
    fs.writeFileSync(path.join(dir, 'model.json'), typeof r === 'string' ? r : JSON.stringify(j));
    return dir;
  }
  const layerCfg = (j: any, name: string): any => j.modelTopology.config.layers.find((l: any) => l.config.name === name);

  it.each([
    ['an unknown class', (j: any) => { layerCfg(j, 'h1').class_name = 'Conv2D'; }, ["layer 'h1'", 'Conv2D']],
    ['an unsupported activation', (j: any) => { layerCfg(j, 'out').config.activation = 'swish'; }, ["layer 'out' (Dense)", "'activation'", 'swish']],
    ['the exact gelu', (j: any) => { layerCfg(j, 'out').config.activation = 'gelu'; }, ["'activation'", 'gelu_new']],
    ['a regularizer', (j: any) => { layerCfg(j, 'h1').config.kernel_regularizer = { class_name: 'L1L2', config: { l2: 0.01 } }; }, ["layer 'h1' (Dense)", 'kernel_regularizer']],
    ['a batch-norm axis other than the features', (j: any) => { layerCfg(j, 'bn1').config.axis = 0; }, ["layer 'bn1' (BatchNormalization)", "'axis'"]],
    ['a rank-3 input', (j: any) => { layerCfg(j, 'h1').config.batch_input_shape = [null, 7, 2]; }, ["'batch_input_shape'", "layer 'h1'"]],
    ['a dropout noise shape', (j: any) => { j.modelTopology.config.layers[2].config.noise_shape = [1, 13]; }, ["'noise_shape'", '(Dropout)']],
    ['an int32 weight', (j: any) => { j.weightsManifest[0].weights[0].dtype = 'int32'; }, ['h1/kernel', 'int32']],
    ['a graph-model', (j: any) => { j.format = 'graph-model'; }, ['graph-model']],
  ])('%s: ERR_NT_UNSUPPORTED naming the layer, class and option', async (_n, edit, words) => {
    const err = await loadTfjsModel(variant(edit as never)).then(() => null, (e) => e);
    expect(err).toMatchObject({ code: 'ERR_NT_UNSUPPORTED' });
    for (const w of words as string[]) expect(err.message).toContain(w);
  });

  it.each([
    ['malformed JSON', () => '{"modelTopology": {', 'not valid JSON'],
    ['no topology', (j: any) => { delete j.modelTopology; }, 'class_name'],
    ['a missing weight', (j: any) => { j.weightsManifest[0].weights[0].name = 'other/kernel'; }, "no weight 'h1/kernel'"],
    ['a wrong shape', (j: any) => { j.weightsManifest[0].weights[0].shape = [13, 7]; }, "'h1/kernel' has shape [13, 7]"],
    ['a weight the topology lacks', (j: any) => { layerCfg(j, 'h1').config.use_bias = false; }, 'does not use: h1/bias'],
    ['a duplicate weight', (j: any) => { j.weightsManifest[1].weights[0].name = j.weightsManifest[0].weights[0].name; }, 'appears twice'],
    ['a missing shard', (j: any, dir: string) => { fs.rmSync(path.join(dir, j.weightsManifest[1].paths[1])); }, 'is missing'],
    ['a short shard', (j: any, dir: string) => { const p = path.join(dir, j.weightsManifest[0].paths.at(-1)); fs.truncateSync(p, fs.statSync(p).size - 3); }, 'short shard'],
    ['a shard dropped from the list', (j: any) => { j.weightsManifest[0].paths.pop(); }, 'short shard'],
    ['extra bytes', (j: any, dir: string) => { fs.appendFileSync(path.join(dir, j.weightsManifest[0].paths.at(-1)), Buffer.alloc(8)); }, 'its weights take'],
    ['a path that leaves the folder', (j: any) => { j.weightsManifest[0].paths[0] = '../../etc/passwd'; }, 'leaves the model'],
    ['an absolute path', (j: any) => { j.weightsManifest[0].paths[0] = '/etc/passwd'; }, 'leaves the model'],
    ['a symlink out of the folder', (j: any, dir: string) => {
      const outside = tmp();
      const p = j.weightsManifest[0].paths[0];
      fs.renameSync(path.join(dir, p), path.join(outside, p));
      fs.symlinkSync(path.join(outside, p), path.join(dir, p));
    }, 'link that leaves'],
    ['quantisation without scale', (j: any) => { j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', min: 0 }; }, 'scale and min'],
    ['a layer input that does not exist', (j: any) => { j.modelTopology = { class_name: 'Model', config: { layers: [{ name: 'a', class_name: 'InputLayer', config: { batch_input_shape: [null, 3], name: 'a' }, inbound_nodes: [] }, { name: 'd', class_name: 'Dense', config: { units: 2, name: 'd' }, inbound_nodes: [[['zz', 0, 0, {}]]] }], input_layers: [['a', 0, 0]], output_layers: [['d', 0, 0]] } }; }, "unknown layer 'zz'"],
  ])('%s: ERR_NT_CORRUPT_FILE with the reason', async (_n, edit, reason) => {
    await expect(loadTfjsModel(variant(edit as never))).rejects.toMatchObject({ code: 'ERR_NT_CORRUPT_FILE', message: expect.stringContaining(reason as string) });
  });

  it('a symlink that stays inside the folder is fine', async () => {
    const dir = variant((j, d) => {
      const p = j.weightsManifest[0].paths[0];
      fs.mkdirSync(path.join(d, 'sub'));
      fs.renameSync(path.join(d, p), path.join(d, 'sub', p));
      fs.symlinkSync(path.join(d, 'sub', p), path.join(d, p));
    });
    await expect(loadTfjsModel(dir)).resolves.toBeDefined();
  });

  it('never crashes on random damage to model.json or the shards', async () => {
    const rng = makeRng(99);
    const text = JSON.stringify(json);
    for (let trial = 0; trial < 150; trial++) {
      const dir = variant((j, d) => {
        if (trial % 3 === 0) {
          // Damage a shard's bytes or length.
          const p = path.join(d, j.weightsManifest[rng.int(2)].paths[0]);
          const b = fs.readFileSync(p);
          if (rng.next() < 0.5) fs.writeFileSync(p, b.subarray(0, rng.int(b.length)));
          else {
            for (let k = 0; k < 4; k++) b[rng.int(b.length)] = rng.int(256);
            fs.writeFileSync(p, b);
          }
          return undefined;
        }
        const chars = text.split('');
        for (let k = 0; k < 1 + rng.int(4); k++) chars[rng.int(chars.length)] = '{}[]",:0-9ae'[rng.int(12)];
        return chars.join('');
      });
      try {
        const m = await loadTfjsModel(dir);
        // Whatever loads must predict finite numbers or fail cleanly.
        await m.predict(tensor(randX(2, m.inputWidth, 1), [2, m.inputWidth])).catch(() => undefined);
      } catch (e) {
        expect(['ERR_NT_CORRUPT_FILE', 'ERR_NT_UNSUPPORTED']).toContain((e as { code?: string }).code);
      }
    }
  });
});

void tf;
