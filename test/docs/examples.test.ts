/**
 * Every `@example` in the JSDoc of lib/**\/*.ts runs, so none can rot. The examples are read from
 * the sources when the test starts (a new example is tested without touching this file), each one
 * becomes a test named by its file:line, and it runs as the body of an async function whose
 * parameters are:
 *   - the public API (everything lib/index.ts exports), and the exports of the example's own
 *     module (so `searchCommand` or `writeFileAtomic` read as they do in their file);
 *   - the fixtures it names (`model`, `x`, `ds`, `study`, ...; see FIXTURES), built for it alone in
 *     a fresh temporary working directory that also holds the files examples name (iris.csv,
 *     ./my-model, w.safetensors, ...).
 * The library is the transpiled copy of lib/ (test/helpers/transpile.ts), so worker_threads find
 * their compiled entry scripts as they do in the package. An example that throws fails its test.
 * EXCLUDED lists the examples that cannot run here, each with its reason; it must stay short.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

import { transpileLib } from '../helpers/transpile';
import { startRedis, TestRedis } from '../helpers/redis-server';

const ROOT = path.resolve(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');

interface Example { file: string; line: number; code: string }

/** Reads every `@example` block: the text after the tag up to the next tag or the comment's end. */
function extractExamples(): Example[] {
  const out: Example[] = [];
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((e) => {
      const p = path.join(d, e.name);
      return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
    });
  for (const file of walk(LIB)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*\*\s*@example\b ?(.*)$/.exec(lines[i]);
      if (!m) continue;
      const body = m[1].trim() ? [m[1]] : [];
      for (let j = i + 1; j < lines.length; j++) {
        const l = lines[j];
        if (/^\s*\*\//.test(l) || /^\s*\*\s*@\w/.test(l)) break;
        body.push(l.replace(/^\s*\*\/?\s?/, '').replace(/\*\/\s*$/, ''));
      }
      out.push({ file: path.relative(ROOT, file), line: i + 1, code: body.join('\n').trim() });
    }
  }
  return out;
}

/**
 * Examples that cannot run in a test, with the reason. Keep this list short: fix an example
 * rather than adding it here.
 */
const EXCLUDED: Record<string, string> = {
  'lib/cli/worker.ts:34': 'a worker command serves a Redis queue until SIGINT/SIGTERM; test/nas covers it with a real coordinator',
  'lib/nas/executors/redis-worker.ts:167': 'waits for a coordinator to publish the study, then until the worker is closed; test/nas covers it',
  'lib/nas/executors/redis.ts:174': 'a distributed optimize needs worker processes to run its trials; test/nas covers it',
};

const examples = extractExamples();

let lib: ReturnType<typeof transpileLib>;
let api: Record<string, unknown>;
let redis: TestRedis | null = null;
let tmpRoot: string;
const cwd0 = process.cwd();

beforeAll(() => {
  lib = transpileLib();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  api = require(lib.index);
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-doc-examples-'));
}, 300_000);

// Examples may change the process-wide kernel settings (setMaxIsa('avx2'), setNumThreads(1), ...):
// each runs from the defaults and leaves them as it found them, so that test files run after this
// one in the same worker see the dispatched kernels.
let threads0 = 0;
beforeEach(() => {
  const rt = api as { getNumThreads(): number };
  threads0 = rt.getNumThreads();
});
afterEach(() => {
  const rt = api as { setMaxIsa(l: null): void; setForcePortable(on: boolean): void; setNumThreads(n: number): void };
  rt.setMaxIsa(null);
  rt.setForcePortable(false);
  rt.setNumThreads(threads0);
});

afterAll(async () => {
  process.chdir(cwd0);
  if (redis) await redis.stop();
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  lib?.cleanup();
});

/* eslint-disable @typescript-eslint/no-explicit-any */
type Ctx = { get(name: string): Promise<any>; nt: any; dir: string };

const IRIS_HEADER = 'sepal_length,sepal_width,petal_length,petal_width,species';
function irisCsv(rows = 60): string {
  const lines = [IRIS_HEADER];
  const names = ['setosa', 'versicolor', 'virginica'];
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    const f = (base: number, k: number): string => (base + c * 1.1 + ((i * 7 + k * 3) % 10) / 20).toFixed(2);
    lines.push([f(5, 1), f(3, 2), f(1.4, 3), f(0.2, 4), names[c]].join(','));
  }
  return lines.join('\n') + '\n';
}
function housesCsv(rows = 60): string {
  const lines = ['rooms,area,district,price'];
  for (let i = 0; i < rows; i++) {
    const rooms = 1 + (i % 5);
    const area = 40 + ((i * 13) % 90);
    lines.push([rooms, area, ['north', 'south', 'east'][i % 3], (1000 * rooms + 25.5 * area + (i % 7) * 10.25).toFixed(2)].join(','));
  }
  return lines.join('\n') + '\n';
}

/** Fixture factories by the name examples use; each may ask for others through ctx.get. */
const FIXTURES: Record<string, (c: Ctx) => Promise<any> | any> = {
  // Small classification data: 4 features, 3 classes (iris-like), 60 rows.
  x: (c) => c.nt.tensor(Array.from({ length: 60 }, (_, i) => [i % 3, ((i * 7) % 10) / 10, ((i * 3) % 5) / 5, (i % 3) + 0.5])),
  y: (c) => c.nt.tensor(new Int32Array(Array.from({ length: 60 }, (_, i) => i % 3))),
  xTrain: (c) => c.get('x'),
  yTrain: (c) => c.get('y'),
  xTest: async (c) => c.nt.tensor((await c.get('x')).toArray().slice(0, 12)),
  yTest: async (c) => c.nt.tensor(new Int32Array(Array.from({ length: 12 }, (_, i) => i % 3))),
  xb: async (c) => c.nt.tensor((await c.get('x')).toArray().slice(0, 8)),
  yb: async (c) => c.nt.tensor(new Int32Array(Array.from({ length: 8 }, (_, i) => i % 3))),
  ds: async (c) => c.nt.dataset(await c.get('x'), await c.get('y')),
  split: async (c) => c.nt.splitDataset(await c.get('ds'), { validation: 0.2, seed: 1 }),
  train: async (c) => (await c.get('split')).train,
  test: async (c) => (await c.get('split')).validation,
  // A compiled model over the data above: dense_1, batchNormalization_1, dense_2, head dense_3.
  model: (c) => {
    const { sequential, dense, batchNormalization, adam } = c.nt;
    const m = sequential([
      dense({ units: 16, activation: 'relu', inputShape: [4] }),
      batchNormalization(),
      dense({ units: 8, activation: 'relu' }),
      dense({ units: 3, activation: 'softmax' }),
    ], { seed: 1 });
    m.compile({ optimizer: adam({ lr: 1e-2 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    return m;
  },
  opts: (c) => ({ optimizer: c.nt.adam(), loss: 'sparseCategoricalCrossentropy' }),
  // Tensors for the kernel and optimizer-step examples: x [60, 4] · w [4, 3] + b [3]; dy [60, 3].
  w: (c) => c.nt.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [0.7, -0.8, 0.9], [-1, 1.1, 1.2]]),
  dw: (c) => c.nt.tensor([[0.01, 0.02, -0.03], [0.04, -0.05, 0.06], [0.07, 0.08, 0.09], [-0.1, 0.11, 0.12]]),
  b: (c) => c.nt.tensor([0.1, 0.2, 0.3]),
  dy: (c) => c.nt.fill([60, 3], 0.01),
  params: (c) => [c.nt.fill([4, 3], 0.5), c.nt.fill([3], 0.1)],
  state: async (c) => c.nt.createAdamState(await c.get('params')),
  kernelTensor: (c) => c.get('w'),
  bytes: (c) => c.nt.encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }),
  json: () => JSON.stringify({ format: 'example' }),
  cfg: () => ({ threads: 2 }),
  // Search: a small MLP space on 300 digits, searching depth and widths only (one-shot can cover it).
  spec: () => ({ data: { kind: 'digits', trainSize: 300, testSize: 100, seed: 1 }, epochs: 1 }),
  space: (c) => c.nt.mlpSpace({ depth: [1, 2], widths: [8, 16], activations: 'relu', dropout: 0, normalization: 'batch', skip: false, optimizers: 'adam', lr: 1e-2, batchSize: 32, weightDecay: 0 }),
  trial: async (c) => ({ number: 0, params: (await c.get('space')).unrank(0) }),
  objective: async (c) => c.nt.mlpObjective(await c.get('spec')),
  study: async (c) => c.nt.createStudy({ space: await c.get('space'), objective: await c.get('objective'), objectives: { name: 'accuracy', direction: 'maximize' }, objectiveId: c.nt.mlpObjectiveId(await c.get('spec')), seed: 1 }),
  mySupernet: async (c) => c.nt.supernetStrategy(await c.get('space'), await c.get('spec'), { epochs: 1 }),
  // A module objective for the worker executor (worker_threads load it by path and export name).
  module: (c) => {
    const file = path.join(c.dir, 'objective.js');
    fs.writeFileSync(file, 'exports.objective = async (trial) => ({ accuracy: 1 / (1 + Math.abs(trial.params.depth - 2)) });\n');
    return file;
  },
  exportName: () => 'objective',
  url: async () => {
    if (!redis) redis = await startRedis();
    return redis.url;
  },
};

/** Files and folders examples name, created in the working directory when the example names them. */
const FILES: Array<[RegExp, (c: Ctx) => Promise<void> | void]> = [
  [/iris\.csv/, (c) => fs.writeFileSync(path.join(c.dir, 'iris.csv'), irisCsv())],
  [/houses\.csv/, (c) => fs.writeFileSync(path.join(c.dir, 'houses.csv'), housesCsv())],
  [/train\.csv/, (c) => fs.writeFileSync(path.join(c.dir, 'train.csv'), housesCsv())],
  [/w\.safetensors|weights\.safetensors/, (c) => {
    const bytes = c.nt.encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    fs.writeFileSync(path.join(c.dir, 'w.safetensors'), bytes);
    fs.writeFileSync(path.join(c.dir, 'weights.safetensors'), bytes);
  }],
  [/\bmodel\/weights\.safetensors/, (c) => fs.mkdirSync(path.join(c.dir, 'model'), { recursive: true })],
  [/loadModel\('\.\/my-model'\)/, async (c) => (await c.get('model')).save(path.join(c.dir, 'my-model'))],
  [/loadTfjsModel\('\.\/tfjs-model/, async (c) => c.nt.exportTfjs(await c.get('model'), path.join(c.dir, 'tfjs-model'))],
  [/'\.\/nodetrain-search'|readStudy\('\.\/study'\)/, async (c) => {
    const study = await c.nt.createStudy({ space: c.nt.space({ a: c.nt.int(0, 3) }), dir: path.join(c.dir, 'study'), seed: 1 });
    await study.optimize({ trials: 3, executor: c.nt.inlineExecutor(async (t: any) => t.params.a) });
    fs.cpSync(path.join(c.dir, 'study'), path.join(c.dir, 'nodetrain-search'), { recursive: true });
  }],
];

/** The identifiers an example's code reads (a superset is fine: unused fixtures are just built). */
function namesIn(code: string): Set<string> {
  return new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? []);
}

function toJs(code: string, name: string): string {
  // TypeScript syntax (casts, annotations) is allowed in examples; top-level await is the norm.
  const js = ts.transpileModule(code, { fileName: name + '.ts', compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext }, reportDiagnostics: true });
  if (js.diagnostics?.length) throw new Error(`${name}: ${ts.flattenDiagnosticMessageText(js.diagnostics[0].messageText, '\n')}`);
  return js.outputText.replace(/^export \{\};\s*$/m, '');
}

async function runExample(ex: Example): Promise<void> {
  const name = `${ex.file}:${ex.line}`;
  const body = toJs(ex.code, name);
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'ex-'));
  // The example's own module, transpiled beside the rest of the library.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const own = require(path.join(lib.dir, path.relative('lib', ex.file)).replace(/\.ts$/, '.js'));
  const nt: Record<string, unknown> = { ...api, ...own };
  const cache = new Map<string, Promise<unknown>>();
  const ctx: Ctx = {
    nt, dir,
    get(n) {
      if (!cache.has(n)) cache.set(n, Promise.resolve(FIXTURES[n](ctx)));
      return cache.get(n)!;
    },
  };
  process.chdir(dir);
  try {
    for (const [re, make] of FILES) if (re.test(ex.code)) await make(ctx);
    const used = namesIn(body);
    const scope: Record<string, unknown> = { ...nt, fs, path };
    // A fixture fills a name the example reads, unless the example calls that name as a function
    // (then it is the API's: `space(...)` builds a space, `space.build(...)` uses the fixture).
    for (const n of Object.keys(FIXTURES)) if (used.has(n) && !new RegExp(`(^|[^.\\w$])${n}\\s*\\(`).test(body)) scope[n] = await ctx.get(n);
    const names = Object.keys(scope).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const fn = new Function(...names, `'use strict'; return (async () => {\n${body}\n})();`);
    await fn(...names.map((n) => scope[n]));
  } finally {
    process.chdir(cwd0);
  }
}

test('the JSDoc holds examples, and the exclusion list names only existing ones', () => {
  expect(examples.length).toBeGreaterThan(100);
  const keys = new Set(examples.map((e) => `${e.file}:${e.line}`));
  for (const k of Object.keys(EXCLUDED)) expect(keys.has(k)).toBe(true);
});

for (const ex of examples) {
  const name = `${ex.file}:${ex.line}`;
  if (name in EXCLUDED) continue;
  test(name, () => runExample(ex), 120_000);
}

test('an example that throws, or reads a name nothing provides, fails its test', async () => {
  await expect(runExample({ file: 'lib/index.ts', line: 0, code: "throw new RangeError('rotten')" })).rejects.toThrow('rotten');
  await expect(runExample({ file: 'lib/index.ts', line: 0, code: 'await notDefinedAnywhere(1);' })).rejects.toThrow(ReferenceError);
  await expect(runExample({ file: 'lib/index.ts', line: 0, code: 'const t = tensor([1, 2]); add(t, t).toArray();' })).resolves.toBeUndefined();
});
