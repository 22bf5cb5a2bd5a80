import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { sequential, dense, adam, tensor, loadModel, batchNormalization, dropout, model as fmodel, input, layers, NodetrainError } from '../../lib';

function data(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  let s = seed;
  const r = (): number => ((s = (s * 16807) % 2147483647) / 2147483647);
  const x = new Float32Array(n * 6);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 6; j++) x[i * 6 + j] = r() * 2 - 1;
    y[i] = (x[i * 6] + x[i * 6 + 1] > 0 ? 1 : 0) + (x[i * 6 + 2] > 0.3 ? 1 : 0);
  }
  return { x, y };
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nt-save-'));
}

describe('save / load', () => {
  it('round-trips architecture, weights and optimizer state; training resumes identically', async () => {
    const { x, y } = data(200, 7);
    const xs = tensor(x, [200, 6]);
    const ys = tensor(y, [200], 'int32');
    const make = () => {
      const m = sequential([dense({ units: 16, activation: 'relu', inputShape: [6] }), batchNormalization(), dropout({ rate: 0.1 }), dense({ units: 3, activation: 'softmax' })], { seed: 3 });
      m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      return m;
    };
    const m = make();
    await m.fit(xs, ys, { epochs: 2, batchSize: 20, seed: 1 });
    const dir = tmpdir();
    await m.save(dir, { metadata: { note: 'hello' } });
    const { model: m2, metadata } = await loadModel(dir);
    expect(metadata).toEqual({ note: 'hello' });
    const p1 = (await m.predict(xs)).data();
    const p2 = (await m2.predict(xs)).data();
    expect(Array.from(p2)).toEqual(Array.from(p1));
    expect(m2.optimizerStep).toBe(m.optimizerStep);
    // Continue training both the same way: identical weights.
    await m.fit(xs, ys, { epochs: 1, batchSize: 20, seed: 9 });
    await m2.fit(xs, ys, { epochs: 1, batchSize: 20, seed: 9 });
    const w1 = m.getWeights();
    const w2 = m2.getWeights();
    for (const k of Object.keys(w1)) expect(Array.from(w2[k].data)).toEqual(Array.from(w1[k].data));
    // Saving again replaces the files and removes the old ones.
    await m.save(dir);
    const files = fs.readdirSync(dir).sort();
    expect(files.filter((f) => f.startsWith('weights-')).length).toBe(1);
    expect(files.filter((f) => f.startsWith('optimizer-')).length).toBe(1);
    expect(files).toContain('model.json');
  });

  it('keeps the hypergradient state, so training resumes on the adapted rate', async () => {
    const { x, y } = data(120, 3);
    const xs = tensor(x, [120, 6]);
    const ys = tensor(y, [120], 'int32');
    const m = sequential([dense({ units: 8, activation: 'tanh', inputShape: [6] }), dense({ units: 3, activation: 'softmax' })], { seed: 5 });
    m.compile({ optimizer: adam({ lr: 1e-3, hypergradient: { hyperLr: 0.05 } }), loss: 'sparseCategoricalCrossentropy' });
    await m.fit(xs, ys, { epochs: 3, batchSize: 12, seed: 2 });
    expect(m.hyperMultiplier).not.toBe(1);
    const dir = tmpdir();
    await m.save(dir);
    const { model: m2 } = await loadModel(dir);
    expect(m2.hyperMultiplier).toBe(m.hyperMultiplier);
    await m.fit(xs, ys, { epochs: 1, batchSize: 12, seed: 4 });
    await m2.fit(xs, ys, { epochs: 1, batchSize: 12, seed: 4 });
    const w1 = m.getWeights();
    const w2 = m2.getWeights();
    for (const k of Object.keys(w1)) expect(Array.from(w2[k].data)).toEqual(Array.from(w1[k].data));
  });

  it('round-trips a functional model with merges', async () => {
    const x = input({ shape: [4] });
    const h = dense({ units: 4, activation: 'tanh' }).apply(x);
    const r = layers.add().apply(x, h);
    const c = layers.concatenate().apply(r, x);
    const out = dense({ units: 2 }).apply(c);
    const m = fmodel({ inputs: x, outputs: out, seed: 2 });
    const dir = tmpdir();
    await m.save(dir);
    const { model: m2 } = await loadModel(dir);
    const xs = tensor([[1, 2, 3, 4], [0.5, -1, 0, 2]]);
    expect(Array.from((await m2.predict(xs)).data())).toEqual(Array.from((await m.predict(xs)).data()));
    expect(m2.compileConfig).toBeNull();
  });

  it('rejects truncated or tampered files with a clear error and never crashes', async () => {
    const m = sequential([dense({ units: 3, inputShape: [2] })], { seed: 1 });
    const dir = tmpdir();
    await m.save(dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const wpath = path.join(dir, json.weights);
    const good = fs.readFileSync(wpath);
    const expectCorrupt = async (): Promise<void> => {
      let err: unknown;
      try {
        await loadModel(dir);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NodetrainError);
      expect((err as NodetrainError).code).toMatch(/ERR_NT_(CORRUPT_FILE|WEIGHTS_MISMATCH)/);
    };
    for (const cut of [0, 4, 8, 20, good.length - 1]) {
      fs.writeFileSync(wpath, good.subarray(0, cut));
      await expectCorrupt();
    }
    const tampered = Buffer.from(good);
    tampered.writeUInt32LE(0xffffff, 0);
    fs.writeFileSync(wpath, tampered);
    await expectCorrupt();
    fs.writeFileSync(wpath, good);
    // Architecture that does not match the weights.
    const bad = { ...json, graph: { ...json.graph, nodes: json.graph.nodes.map((n: { config: Record<string, unknown> }, i: number) => (i === 1 ? { ...n, config: { ...n.config, units: 4 } } : n)) } };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(bad));
    await expectCorrupt();
    fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "nodetrain-model", "version": 1');
    await expectCorrupt();
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...json, weights: '../../etc/passwd' }));
    await expectCorrupt();
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const { model: ok } = await loadModel(dir);
    expect(ok.countParams()).toBe(9);
  });

  it('keeps the previous model intact when a save fails midway', async () => {
    const m = sequential([dense({ units: 3, inputShape: [2] })], { seed: 1 });
    const dir = tmpdir();
    await m.save(dir);
    const before = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
    const m2 = sequential([dense({ units: 3, inputShape: [2] })], { seed: 2 });
    // A directory squatting on the temp-file name pattern cannot make us lose data; simulate a
    // failure by making the folder read-only for the duration of the save (root ignores modes, so
    // use a file where the folder should be instead).
    const blocked = path.join(dir, 'sub');
    fs.writeFileSync(blocked, 'not a folder');
    await expect(m2.save(path.join(blocked, 'x'))).rejects.toThrow();
    expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).toBe(before);
    const { model: again } = await loadModel(dir);
    expect(Array.from(again.getWeights()['dense_1/kernel'].data)).toEqual(Array.from(m.getWeights()['dense_1/kernel'].data));
  });
});
