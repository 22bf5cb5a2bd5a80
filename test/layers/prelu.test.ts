/**
 * PReLU (Keras `PReLU` for [batch, features] inputs): config validation, output shape, parameter
 * declaration and initialisation, JSON round trip, summary, save/load, the forward pass against a
 * float64 reference and a finite-difference gradient check through the compiled model.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Model, dense, input, layers, loadModel, model as fmodel, sequential } from '../../lib';
import { layerFromJSON, layerToJSON } from '../../lib/layers/layer';
import { layerDefinition } from '../../lib/layers/registry';
import { gradCheck } from '../helpers/model';
import { makeRng, relErr } from '../helpers/numerics';
import type { Rng } from '../helpers/numerics';

const { prelu } = layers;

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-prelu-'));
}

/** A dense -> prelu -> dense model with random weights, alphas of both signs included. */
function randomModel(rng: Rng, inW: number, hidden: number, outW: number): Model {
  const m = sequential([dense({ units: hidden, inputShape: [inW] }), prelu(), dense({ units: outW })], { seed: rng.int(1 << 30) });
  const w = m.getWeights();
  for (const k of Object.keys(w)) {
    const d = w[k].data;
    for (let i = 0; i < d.length; i++) d[i] = k.endsWith('/alpha') ? Math.fround(0.8 * rng.normal()) : Math.fround(0.7 * rng.normal());
  }
  m.setWeights(w);
  return m;
}

/** Float64 forward pass of randomModel's architecture. */
function reference(m: Model, x: number[][]): { out: number[][]; pre: number[][] } {
  const w = m.getWeights();
  const lin = (rows: number[][], k: Float32Array, b: Float32Array, units: number): number[][] =>
    rows.map((r) => Array.from({ length: units }, (_, j) => r.reduce((s, xi, i) => s + xi * k[i * units + j], b[j])));
  const [d1, , d2] = m.layers.map((l) => l.name!);
  const hidden = w[`${d1}/bias`].data.length;
  const outW = w[`${d2}/bias`].data.length;
  const pre = lin(x, w[`${d1}/kernel`].data, w[`${d1}/bias`].data, hidden);
  const alpha = w[`${m.layers[1].name}/alpha`].data;
  const act = pre.map((r) => r.map((z, j) => (z >= 0 ? z : alpha[j] * z)));
  return { out: lin(act, w[`${d2}/kernel`].data, w[`${d2}/bias`].data, outW), pre };
}

function randRows(rng: Rng, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround(rng.normal())));
}

describe('prelu config', () => {
  it('defaults to Keras: alpha initialised to zeros, trainable', () => {
    const l = prelu();
    expect(l.type).toBe('prelu');
    expect(l.config).toEqual({ type: 'prelu', name: undefined, trainable: true, alphaInitializer: 'zeros', inputShape: undefined });
    expect(layerDefinition('prelu').className).toBe('PReLU');
  });

  it('rejects invalid options with the message template', () => {
    expect(() => prelu(null as never)).toThrow(new TypeError('Expected an object for prelu options but received null'));
    expect(() => prelu({ slope: 1 } as never)).toThrow(
      new RangeError("Expected only the options 'alphaInitializer', 'inputShape', 'name', 'trainable' for prelu options but received an option 'slope'"),
    );
    expect(() => prelu({ alphaInitializer: 'twos' as never })).toThrow(RangeError);
    expect(() => prelu({ alphaInitializer: 'twos' as never })).toThrow(/^Expected one of 'glorotUniform', .* for alphaInitializer but received "twos"$/);
    expect(() => prelu({ alphaInitializer: 3 as never })).toThrow(TypeError);
    expect(() => prelu({ alphaInitializer: { constant: Infinity } })).toThrow(new RangeError('Expected a finite number for alphaInitializer.constant but received Infinity'));
    expect(() => prelu({ inputShape: [0] })).toThrow(new RangeError('Expected an integer >= 1 for inputShape[0] but received 0'));
    expect(() => prelu({ inputShape: [2, 3] })).toThrow(new RangeError('Expected an array of one positive integer (features) for inputShape but received an array of length 2'));
    expect(() => prelu({ name: 'a b' })).toThrow(new RangeError('Expected a name of letters, digits, _ . - for prelu.name but received "a b"'));
    expect(() => prelu({ trainable: 1 as never })).toThrow(new TypeError('Expected a boolean for prelu.trainable but received 1'));
  });

  it('takes exactly one input and keeps its width', () => {
    const rng = makeRng();
    for (const w of [1, 2, 7, 13, 64 + rng.int(64)]) {
      const x = input({ shape: [w] });
      const y = prelu().apply(x);
      expect(y.shape).toEqual([null, w]);
    }
    const x = input({ shape: [3] });
    expect(() => prelu().apply(x, x)).toThrow(new RangeError('Expected exactly 1 input for prelu inputs but received 2'));
  });

  it('declares one alpha per feature, initialised by alphaInitializer', () => {
    const m = sequential([dense({ units: 5, inputShape: [3] }), prelu(), prelu({ alphaInitializer: { constant: 0.25 } }), prelu({ alphaInitializer: 'heUniform' })], { seed: 3 });
    const w = m.getWeights();
    expect(w['prelu_1/alpha'].shape).toEqual([5]);
    expect(Array.from(w['prelu_1/alpha'].data)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(w['prelu_2/alpha'].data)).toEqual([0.25, 0.25, 0.25, 0.25, 0.25]);
    const he = Array.from(w['prelu_3/alpha'].data);
    const limit = Math.sqrt(6 / 5);
    expect(he.every((a) => Math.abs(a) <= limit)).toBe(true);
    expect(new Set(he).size).toBe(5);
    expect(m.countParams()).toBe(3 * 5 + 5 + 3 * 5);
  });

  it('appears in the summary with its parameter count', () => {
    const m = sequential([dense({ units: 5, inputShape: [3] }), prelu({ trainable: false })], { seed: 1 });
    const s = m.summary();
    expect(s).toMatch(/prelu_1 \(prelu\) \[frozen\]\s+\[null, 5\]\s+5\s+dense_1/);
    expect(s).toContain('Total params: 25');
    expect(s).toContain('Trainable params: 20');
  });

  it('round-trips through its JSON form', () => {
    for (const l of [prelu(), prelu({ alphaInitializer: { constant: -0.5 }, inputShape: [4], name: 'p' }), prelu({ alphaInitializer: 'glorotNormal', trainable: false })]) {
      const json = JSON.parse(JSON.stringify(layerToJSON(l)));
      const back = layerFromJSON(json);
      expect(back.type).toBe('prelu');
      expect(back.config).toEqual({ ...l.config, trainable: true });
      expect(back.trainable).toBe(l.trainable);
      expect(layerToJSON(back)).toEqual(layerToJSON(l));
    }
    expect(() => layerFromJSON({ type: 'prelu', alphaInitializer: 'nope' })).toThrow(RangeError);
  });
});

// The following need the native 'prelu' op.
describe('prelu in a compiled model', () => {
  it('matches a float64 reference forward pass on awkward sizes', async () => {
    const rng = makeRng();
    for (const [n, inW, hidden, outW] of [[1, 1, 1, 1], [7, 5, 13, 3], [33, 17, 31, 2]]) {
      const m = randomModel(rng, inW, hidden, outW);
      const x = randRows(rng, n, inW);
      const got = (await m.predict(x)).data();
      const { out } = reference(m, x);
      expect(relErr(got, out.flat(), 1e-6)).toBeLessThan(1e-5);
    }
  });

  it('passes a finite-difference gradient check (alpha, and the layers around it)', async () => {
    const rng = makeRng();
    const m = randomModel(rng, 5, 7, 3);
    // Inputs whose PReLU pre-activations stay clear of the kink at 0, where differences straddle it.
    const x: number[][] = [];
    while (x.length < 6) {
      const row = randRows(rng, 1, 5);
      if (reference(m, row).pre[0].every((z) => Math.abs(z) > 0.05)) x.push(row[0]);
    }
    const pre = reference(m, x).pre;
    expect(pre.flat().some((z) => z < 0)).toBe(true);
    const y = randRows(rng, x.length, 3);
    const r = await gradCheck(m, 'meanSquaredError', x, y);
    expect(Object.keys(r.params)).toContain('prelu_1/alpha');
    for (const [name, p] of Object.entries(r.params)) {
      if (p.rel >= 1e-2) throw new Error(`${name}: relative error ${p.rel} (seed ${rng.seed})`);
    }
    // The alpha gradient is not trivially zero: some pre-activations are negative.
    expect(Math.hypot(...r.params['prelu_1/alpha'].numeric)).toBeGreaterThan(1e-3);
  });

  it('saves and loads (functional model included) with identical outputs', async () => {
    const rng = makeRng();
    const seq = randomModel(rng, 4, 6, 2);
    const xi = input({ shape: [4] });
    const h = prelu({ alphaInitializer: { constant: 0.1 } }).apply(dense({ units: 4 }).apply(xi));
    const fun = fmodel({ inputs: xi, outputs: dense({ units: 2 }).apply(layers.add().apply(xi, h)), seed: 5 });
    for (const m of [seq, fun]) {
      m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const x = randRows(rng, 9, 4);
      await m.fit(x, randRows(rng, 9, 2), { epochs: 2, batchSize: 4, seed: 1 });
      const dir = tmpdir();
      try {
        await m.save(dir);
        const saved = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
        expect(saved.graph.nodes.some((n: { config: { type: string } }) => n.config.type === 'prelu')).toBe(true);
        const { model: m2 } = await loadModel(dir);
        expect(m2.summary()).toBe(m.summary());
        const w1 = m.getWeights();
        const w2 = m2.getWeights();
        expect(Object.keys(w2).sort()).toEqual(Object.keys(w1).sort());
        for (const k of Object.keys(w1)) expect(Array.from(w2[k].data)).toEqual(Array.from(w1[k].data));
        expect(Array.from((await m2.predict(x)).data())).toEqual(Array.from((await m.predict(x)).data()));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
