/**
 * nodetrain finetune: load a pretrained model (a folder saved by `nodetrain train` / model.save,
 * or a TensorFlow.js layers-model), replace its head for the new task, run the fineTune
 * controller on a CSV file (or the bundled digits), report test scores and save the result like
 * `train` (with the new data's preprocessing, so evaluate and predict take raw rows).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';

import * as nt from '../index';
import { scoreLines, selectRows, splitRows } from './tabular';

export const FINETUNE_HELP = `nodetrain finetune --from <folder or model.json> [--data file.csv --target col] [options]
Fine-tunes a pretrained model: a new head for the task, the body frozen for --head-epochs, then
unfrozen with discriminative rates and one-cycle. Without --data it uses the bundled digits.
  --from <path>            a folder saved by nodetrain train / model.save, or a TensorFlow.js
                           layers-model (model.json or its folder)
  --data <file.csv>        new training data;  --target <column> its target (name or index)
  --task <kind>            classification or regression (default: detected)
  --head-units <n>         units of the new head (default: classes, or 1 for regression)
  --keep-head              keep the pretrained head (same outputs)
  --head-epochs <n>        epochs with the body frozen (default 1)
  --epochs <n>             epochs after unfreezing (default 4)
  --lr <rate|auto>         head-phase peak rate (default auto: range test)
  --unfreeze <how>         all or gradual (default all)
  --groups <n>             layer groups for discriminative rates (default 3)
  --batch-size <n>         (default 32)   --seed <n> (default 1)
  --test <fraction>        test split (default 0.2)   --validation <fraction> (default 0.1)
  --out <dir>              where to save (default ./nodetrain-finetuned)
  --log <file>             per-epoch logs (CSV, or JSON lines for .jsonl)
  --quiet                  no progress bar
`;

function bad(msg: string): never {
  throw new nt.NodetrainError('ERR_NT_USAGE', msg);
}

function int(name: string, s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) bad(`Expected a non-negative integer for --${name} but received "${s}"`);
  return n;
}

/** Loads either format: a nodetrain folder (its model.json says format 'nodetrain-model') or tfjs. */
async function loadPretrained(from: string): Promise<nt.Model> {
  const file = fs.existsSync(from) && fs.statSync(from).isDirectory() ? path.join(from, 'model.json') : from;
  let format: unknown;
  try {
    format = (JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (format === nt.MODEL_FORMAT) return (await nt.loadModel(path.dirname(file))).model;
  return nt.loadTfjsModel(file);
}

export async function finetuneCommand(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' }, data: { type: 'string' }, target: { type: 'string' }, task: { type: 'string' },
      'head-units': { type: 'string' }, 'keep-head': { type: 'boolean' }, 'head-epochs': { type: 'string' }, epochs: { type: 'string' },
      lr: { type: 'string' }, unfreeze: { type: 'string' }, groups: { type: 'string' }, 'batch-size': { type: 'string' }, seed: { type: 'string' },
      test: { type: 'string' }, validation: { type: 'string' }, out: { type: 'string' }, log: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (a.help) {
    process.stdout.write(FINETUNE_HELP);
    return;
  }
  if (!a.from) bad('Expected --from <folder or model.json> for finetune but received nothing');
  const seed = int('seed', a.seed, 1);
  const frac = (name: string, s: string | undefined, d: number): number => {
    const x = s === undefined ? d : Number(s);
    if (!(x >= 0 && x < 1)) bad(`Expected a fraction in [0, 1) for --${name} but received "${s}"`);
    return x;
  };
  let train: nt.Dataset;
  let val: nt.Dataset | null = null;
  let test: nt.Dataset | null = null;
  let pre: nt.Preprocessor | null = null;
  let task: nt.TabularTask = 'classification';
  let metadata: Record<string, unknown> = {};
  if (a.data) {
    if (a.target === undefined) bad('Expected --target <column> with --data');
    const table = await nt.loadCsvTable(a.data);
    const target = /^\d+$/.test(a.target) && !table.names.includes(a.target) ? table.names[Number(a.target)] : a.target;
    const probe = nt.Preprocessor.fit(table, { target, task: (a.task ?? 'auto') as never });
    task = probe.task;
    const labels = task === 'classification' ? (probe.transformTarget(table).data() as Int32Array) : null;
    const testFrac = frac('test', a.test, 0.2);
    const rows = splitRows(table.rows, labels, testFrac, frac('validation', a.validation, 0.1) * (1 - testFrac), seed);
    const trainTable = selectRows(table, rows.train);
    pre = nt.Preprocessor.fit(trainTable, { target, task, classNames: probe.classNames, types: probe.columnTypes });
    train = pre.toDataset(trainTable);
    if (rows.test.length) test = pre.toDataset(selectRows(table, rows.test));
    if (rows.val.length) val = pre.toDataset(selectRows(table, rows.val));
    metadata = { preprocessor: pre.toJSON(), task, target, featureColumns: pre.inputColumns };
  } else {
    ({ train, test } = nt.loadDigits({ seed }));
  }
  let model = await loadPretrained(a.from);
  if (model.inputWidth !== train.numFeatures) bad(`Expected data with ${model.inputWidth} input features (the pretrained model's) for --data but received ${train.numFeatures}`);
  const classes = task === 'classification' ? (pre ? pre.numOutputs : (train.numClasses ?? 10)) : 1;
  const units = int('head-units', a['head-units'], classes);
  if (!a['keep-head']) model = model.replaceHead({ units, activation: task === 'classification' ? 'softmax' : 'linear', seed });
  process.stdout.write(`pretrained body from ${a.from}; ${a['keep-head'] ? 'kept its head' : `new head of ${units} units`}\n`);
  const callbacks: nt.Callback[] = [];
  if (a.log) callbacks.push(new nt.CsvLogger(a.log));
  const t0 = Date.now();
  const { phases } = await nt.fineTune(model, train, {
    loss: task === 'classification' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError',
    headEpochs: int('head-epochs', a['head-epochs'], 1),
    epochs: int('epochs', a.epochs, 4),
    headLr: a.lr === undefined || a.lr === 'auto' ? 'auto' : Number(a.lr),
    unfreeze: (a.unfreeze ?? 'all') as 'all' | 'gradual',
    groups: a.groups === undefined ? undefined : int('groups', a.groups, 3),
    batchSize: int('batch-size', a['batch-size'], 32),
    seed,
    validationData: val ?? undefined,
    callbacks,
    verbose: a.quiet ? 0 : 1,
  });
  for (const p of phases) {
    const h = p.history.history;
    process.stdout.write(`${p.name} phase: rates ${p.rates.map((r) => r.toExponential(2)).join(', ')}; final loss ${h.loss[h.loss.length - 1].toFixed(4)}\n`);
  }
  process.stdout.write(`fine-tuned in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (test && test.size > 0) {
    if (pre) process.stdout.write(`${(await scoreLines(model, pre, test, 'test')).lines.join('\n')}\n`);
    else {
      const r = await model.evaluate(test);
      process.stdout.write(`test loss ${r.loss.toFixed(4)}, test accuracy ${(r.accuracy * 100).toFixed(2)}%\n`);
    }
  }
  const out = a.out ?? 'nodetrain-finetuned';
  await model.save(out, { metadata });
  process.stdout.write(`saved the model to ${path.resolve(out)}\n`);
}
