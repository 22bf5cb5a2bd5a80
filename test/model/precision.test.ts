/**
 * compile({ precision: 'bf16' }): dense layers' products take bf16-rounded operands with fp32
 * accumulation, forward and backward; master weights, optimizer state and the loss stay float32.
 * Checked against float64 references that round the same operands, on the path this CPU
 * dispatches (cpuFeatures().bf16Gemm names it) and on the emulation (AVX2 level forced).
 */
import { adam, cpuFeatures, dense, fineTune, loadDigits, loadModel, sequential, setMaxIsa, sgd } from '../../lib';
import type { NamedWeights } from '../../lib';
import { makeRng, randMatrix, relErr } from '../helpers/model';
import { bf16Round } from '../helpers/numerics';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const bf16 = bf16Round;

console.log(`precision 'bf16' runs on: ${cpuFeatures().bf16Gemm} (AMX tiles ${cpuFeatures().bestIsa === 'amx' ? 'available' : 'NOT exercised on this CPU'})`);

/** One linear layer [inW -> outW], mean squared error. */
function linearModel(inW: number, outW: number, precision: 'float32' | 'bf16', lr: number) {
  const m = sequential([dense({ units: outW, inputShape: [inW] })], { seed: 3 });
  m.compile({ optimizer: sgd({ lr }), loss: 'meanSquaredError', precision });
  return m;
}

/** Forward x W + b in float64, with x and W rounded to bf16 when asked. */
function forward(x: number[][], w: Float32Array, b: Float32Array, outW: number, round: boolean): number[][] {
  const r = round ? bf16 : (v: number) => v;
  return x.map((row) =>
    Array.from({ length: outW }, (_, j) => row.reduce((s, xv, i) => s + r(xv) * r(w[i * outW + j]), 0) + b[j]),
  );
}

afterEach(() => setMaxIsa(null));

describe.each([
  { name: `dispatched (${cpuFeatures().bf16Gemm})`, isa: null },
  { name: 'emulation (AVX2 level forced)', isa: 'avx2' as const },
])("precision 'bf16': $name", ({ isa }) => {
  beforeEach(() => setMaxIsa(isa));

  it('predicts x W + b over bf16-rounded x and W (not the float32 product)', async () => {
    const rng = makeRng(7);
    const [n, inW, outW] = [13, 37, 5];
    const m = linearModel(inW, outW, 'bf16', 0);
    const x = randMatrix(rng, n, inW);
    const [kernel, bias] = Object.values(m.getWeights());
    const got = Array.from((await m.predict(x)).data());
    const wantR = forward(x, kernel.data, bias.data, outW, true).flat();
    const wantF = forward(x, kernel.data, bias.data, outW, false).flat();
    const errR = relErr(got, wantR);
    const errF = relErr(wantF, wantR);
    expect(errR).toBeLessThan(1e-5); // fp32 summation of exact bf16 products
    expect(errF).toBeGreaterThan(1e-4); // the rounding is visible: float32 would fail the line above
  });

  it('takes SGD steps with dW = bf16(x)^T bf16(dY), master weights in float32', async () => {
    const rng = makeRng(11);
    const [n, inW, outW, lr] = [16, 29, 3, 0.5];
    const m = linearModel(inW, outW, 'bf16', lr);
    const x = randMatrix(rng, n, inW);
    const y = randMatrix(rng, n, outW);
    const w0: NamedWeights = m.getWeights();
    const [kName, bName] = Object.keys(w0);
    await m.trainOnBatch(x, y);
    const w1 = m.getWeights();
    const pred = forward(x, w0[kName].data, w0[bName].data, outW, true);
    // MSE over n * outW elements: dY = 2 (pred - y) / (n outW), computed in float32 by the loss.
    const dy = pred.map((row, i) => row.map((p, j) => Math.fround((2 * (Math.fround(p) - y[i][j])) / (n * outW))));
    const stepR = new Float64Array(inW * outW);
    const stepF = new Float64Array(inW * outW);
    for (let a = 0; a < inW; a++)
      for (let j = 0; j < outW; j++) {
        let sR = 0;
        let sF = 0;
        for (let i = 0; i < n; i++) {
          sR += bf16(x[i][a]) * bf16(dy[i][j]);
          sF += x[i][a] * dy[i][j];
        }
        stepR[a * outW + j] = lr * sR;
        stepF[a * outW + j] = lr * sF;
      }
    const got = Array.from(w0[kName].data, (v, i) => v - w1[kName].data[i]);
    const errR = relErr(got, stepR);
    expect(errR).toBeLessThan(1e-3); // one float32 rounding of W, relative to a small step
    expect(errR).toBeLessThan(0.1 * relErr(stepF, stepR));
    // The master weights are float32: a step smaller than bf16's resolution still moves them.
    expect(Array.from(w1[kName].data).some((v) => bf16(v) !== v)).toBe(true);
  });
});

describe("precision 'bf16' end to end", () => {
  it('trains the digits MLP to within 1.5 points of float32 test accuracy', async () => {
    const { train, test } = loadDigits({ trainSize: 3000, testSize: 1000, seed: 0 });
    const acc: Record<string, number> = {};
    for (const precision of ['float32', 'bf16'] as const) {
      const m = sequential([dense({ units: 64, activation: 'relu', inputShape: [784] }), dense({ units: 10, activation: 'softmax' })], { seed: 1 });
      m.compile({ optimizer: adam({ lr: 2e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], precision });
      await m.fit(train, { epochs: 4, batchSize: 64, seed: 1 });
      acc[precision] = (await m.evaluate(test)).accuracy as number;
    }
    expect(acc.float32).toBeGreaterThan(0.85);
    expect(Math.abs(acc.bf16 - acc.float32)).toBeLessThan(0.015);
  });

  it('is saved with the model and comes back on load; float32 files carry no precision', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-precision-'));
    try {
      const m = linearModel(4, 2, 'bf16', 0.1);
      await m.save(path.join(dir, 'a'));
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'a', 'model.json'), 'utf8')).training.precision).toBe('bf16');
      const { model } = await loadModel(path.join(dir, 'a'));
      expect(model.compileConfig?.precision).toBe('bf16');
      const f = linearModel(4, 2, 'float32', 0.1);
      await f.save(path.join(dir, 'b'));
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'b', 'model.json'), 'utf8')).training.precision).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is kept by clone() and by fineTune()', async () => {
    const m = linearModel(4, 2, 'bf16', 0.1);
    expect(m.clone().compileConfig?.precision).toBe('bf16');
    const rng = makeRng(5);
    const x = randMatrix(rng, 24, 4);
    const y = randMatrix(rng, 24, 2);
    await fineTune(m, { x, y }, { headLayers: 1, headEpochs: 1, headLr: 0.01, epochs: 1, loss: 'meanSquaredError', batchSize: 8 });
    expect(m.compileConfig?.precision).toBe('bf16');
    await fineTune(m, { x, y }, { headEpochs: 1, headLr: 0.01, epochs: 0, loss: 'meanSquaredError', batchSize: 8, precision: 'float32' });
    expect(m.compileConfig?.precision).toBe('float32');
  });

  it('rejects an unknown precision naming the option', () => {
    const m = sequential([dense({ units: 2, inputShape: [3] })]);
    expect(() => m.compile({ optimizer: sgd(), loss: 'meanSquaredError', precision: 'fp16' as never })).toThrow(
      "Expected one of 'float32', 'bf16' for compile options.precision but received \"fp16\"",
    );
  });
});
