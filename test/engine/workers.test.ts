/**
 * The addon in worker_threads: it loads per environment, and two workers plus the main thread can
 * train at the same time, each to its own solution. A worker terminated in the middle of fit() must
 * not take the process down (that case runs in a child process, see known-bugs.test.ts). Workers
 * load the library transpiled once to plain JavaScript in beforeAll (no build step needed).
 */
import { Worker } from 'worker_threads';

import { dense, sequential, sgd } from '../../lib';
import { makeRng } from '../helpers/model';
import { transpileLib } from '../helpers/transpile';

let lib: ReturnType<typeof transpileLib>;
beforeAll(() => {
  lib = transpileLib();
});
afterAll(() => lib?.cleanup());

/** Fits y = slope x + intercept and posts the result. */
const TRAIN = `
const { parentPort, workerData } = require('worker_threads');
const nt = require(workerData.lib);
function mulberry(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
(async () => {
  const { seed, slope, intercept, epochs } = workerData;
  const rnd = mulberry(seed);
  const x = Array.from({ length: 200 }, () => [Math.fround(rnd() * 4 - 2)]);
  const y = x.map(([v]) => [Math.fround(slope * v + intercept)]);
  const m = nt.sequential([nt.dense({ units: 1, inputShape: [1] })], { seed });
  m.compile({ optimizer: nt.sgd({ lr: 0.02, momentum: 0.5 }), loss: 'mse' });
  parentPort.postMessage({ type: 'started' });
  const h = await m.fit(x, y, { epochs, batchSize: 10, seed });
  const w = m.getWeights();
  parentPort.postMessage({ type: 'done', epochs: h.epoch.length, w: w['dense_1/kernel'].data[0], b: w['dense_1/bias'].data[0] });
})().catch((e) => parentPort.postMessage({ type: 'error', message: String(e && e.stack || e) }));
`;

interface Result {
  type: string;
  epochs?: number;
  w?: number;
  b?: number;
  message?: string;
}

function runWorker(data: object): { worker: Worker; result: Promise<Result>; started: Promise<void> } {
  const worker = new Worker(TRAIN, { eval: true, workerData: { ...data, lib: lib.index } });
  let onStart: () => void = () => undefined;
  const started = new Promise<void>((r) => (onStart = r));
  const result = new Promise<Result>((resolve, reject) => {
    worker.on('message', (m: Result) => {
      if (m.type === 'started') onStart();
      else resolve(m);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => resolve({ type: 'exit', message: `exit ${code}` }));
  });
  return { worker, result, started };
}

describe('worker_threads', () => {
  test('two workers and the main thread train at the same time', async () => {
    const a = runWorker({ seed: 1, slope: 1.5, intercept: -2, epochs: 60 });
    const b = runWorker({ seed: 2, slope: -0.5, intercept: 3, epochs: 60 });
    // The main thread trains too while the workers run.
    const rng = makeRng(3);
    const x = Array.from({ length: 200 }, () => [Math.fround(rng.next() * 4 - 2)]);
    const y = x.map(([v]) => [Math.fround(0.25 * v + 1)]);
    const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 3 });
    m.compile({ optimizer: sgd({ lr: 0.02, momentum: 0.5 }), loss: 'mse' });
    const [ra, rb] = await Promise.all([a.result, b.result, m.fit(x, y, { epochs: 60, batchSize: 10, seed: 3 })]);
    expect(ra).toMatchObject({ type: 'done', epochs: 60 });
    expect(rb).toMatchObject({ type: 'done', epochs: 60 });
    expect(Math.abs(ra.w! - 1.5)).toBeLessThan(1e-3);
    expect(Math.abs(ra.b! + 2)).toBeLessThan(1e-3);
    expect(Math.abs(rb.w! + 0.5)).toBeLessThan(1e-3);
    expect(Math.abs(rb.b! - 3)).toBeLessThan(1e-3);
    const w = m.getWeights();
    expect(Math.abs(w['dense_1/kernel'].data[0] - 0.25)).toBeLessThan(1e-3);
    expect(Math.abs(w['dense_1/bias'].data[0] - 1)).toBeLessThan(1e-3);
    await Promise.all([a.worker.terminate(), b.worker.terminate()]);
  });
});
