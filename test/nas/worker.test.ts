/**
 * Worker-thread executor: a real (tiny) MLP search on the bundled digits through two workers, with
 * the best model saved in the study folder; serial and worker runs of the synthetic benchmark give
 * the same trials for the same seed; a crashing objective is recorded as failed and the study goes on.
 * Workers load the library transpiled once to plain JavaScript (test/helpers/transpile).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as nas from '../../lib/nas';
import { loadModel } from '../../lib';
import { transpileLib } from '../helpers/transpile';
import * as bench from './fixtures/nasbench';

let lib: ReturnType<typeof transpileLib>;
let script: string;
let tmp: string;
beforeAll(() => {
  lib = transpileLib();
  script = path.join(lib.dir, 'nas', 'executors', 'worker-entry.js');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-nas-worker-'));
});
afterAll(() => {
  lib?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const FIXTURE = path.join(__dirname, 'fixtures', 'nasbench.js');

test('a small real search on digits through 2 workers saves the best model', async () => {
  const spec: nas.MlpObjectiveSpec = {
    data: { kind: 'digits', trainSize: 600, testSize: 100, seed: 1 },
    space: { depth: [1, 2], widths: [16, 32], activations: ['relu', 'tanh'], optimizers: 'adam', lr: [1e-3, 1e-2], batchSize: 64, weightDecay: 0 },
    epochs: 3,
  };
  const space = nas.mlpSpace(spec.space);
  const dir = path.join(tmp, 'digits');
  const study = await nas.createStudy({ space, objectives: [{ name: 'accuracy', direction: 'maximize' }, { name: 'params', direction: 'minimize' }], objectiveId: nas.mlpObjectiveId(spec), sampler: nas.randomSampler(), dir, seed: 2 });
  const ex = nas.workerExecutor({ objective: { builtin: 'mlp', spec }, workers: 2, threadsPerWorker: 1, workerScript: script, maxOldGenerationSizeMb: 256 });
  const r = await study.optimize({ trials: 4, executor: ex });
  await ex.close();
  expect(r.trials).toHaveLength(4);
  for (const t of r.trials) {
    expect(t.state).toBe('complete');
    expect(t.metrics!.accuracy).toBeGreaterThan(0.3); // 3 epochs on 480 images; chance is 0.1
    expect(t.metrics!.latency).toBeGreaterThan(0);
    expect(t.metrics!.params).toBe(space.build(t.params, { inputs: 784, outputs: 10, task: 'classification', seed: 0 }).countParams());
    expect(t.intermediate.size).toBe(3);
  }
  expect(r.paretoFront.length).toBeGreaterThan(0);
  const saved = await loadModel(path.join(dir, 'best-model'));
  expect(saved.model.countParams()).toBe(r.best!.metrics!.params);
  expect(fs.readdirSync(path.join(dir, 'trials'))).toEqual([]);
});

test('serial (parallelism 2) and 2 worker threads make the same trials for the same seed', async () => {
  const mk = () => nas.createStudy({ space: nas.space(bench.spaceSpec(nas)), objectives: { name: 'accuracy', direction: 'maximize' }, sampler: nas.tpeSampler({ nStartupTrials: 5 }), pruner: nas.ashaPruner(), seed: 8 });
  const serial = await mk();
  await serial.optimize({ trials: 16, executor: nas.inlineExecutor(bench.makeObjective({ epochs: 9 })), parallelism: 2 });
  const par = await mk();
  const ex = nas.workerExecutor({ objective: { module: FIXTURE, exportName: 'objective' }, workers: 2, workerScript: script });
  await par.optimize({ trials: 16, executor: ex });
  await ex.close();
  const sig = (s: nas.Study) => s.trials.map((t) => JSON.stringify([t.number, t.params, t.state, t.values, [...t.intermediate]]));
  expect(sig(par)).toEqual(sig(serial));
});

test('a trial that throws is recorded as failed with its error; a timed-out one too; the study goes on', async () => {
  const mod = path.join(tmp, 'flaky.js');
  fs.writeFileSync(mod, `exports.objective = async (t) => { if (t.number === 1) throw new Error('boom in trial 1'); if (t.number === 2) await new Promise(r => setTimeout(r, 5000)); return t.params.x; };`);
  const study = await nas.createStudy({ space: { x: nas.float(0, 1) }, seed: 1 });
  const ex = nas.workerExecutor({ objective: { module: mod, exportName: 'objective' }, workers: 2, workerScript: script });
  const r = await study.optimize({ trials: 5, executor: ex, trialTimeoutMs: 1000 });
  await ex.close();
  expect(r.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'failed', 'complete', 'complete']);
  expect(r.trials[1].error).toMatch(/boom in trial 1/);
  expect(r.trials[2].error).toMatch(/timed out after 1000 ms/);
});
