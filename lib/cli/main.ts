#!/usr/bin/env node
/**
 * The nodetrain command line. Uses only the public API.
 *   nodetrain train [options]   train an MLP (bundled digits by default, or a CSV file)
 *   nodetrain help
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';

import * as nt from '../index';
import { finetuneCommand } from './finetune';
import { fitInterruptible } from './interrupt';
import { EXPORT_HELP, exportCommand } from './export';
import { trainFlagError } from './options';
import { reportCommand, searchCommand } from './search';
import { workerCommand } from './worker';
import { adaptiveDefaults, predictionCsv, scoreLines, selectRows, splitRows } from './tabular';

const HELP = `Usage: nodetrain <command> [options]

Commands:
  train      train an MLP (bundled digits by default, or a CSV file), report test scores, save it
  evaluate   score a saved model on a CSV file:   nodetrain evaluate --model <dir> --data <file.csv>
  predict    predict raw CSV rows:                 nodetrain predict --model <dir> --data <file.csv> [--output <file.csv>]
  search     architecture search (nodetrain search --help)
  finetune   fine-tune a saved or TensorFlow.js model (nodetrain finetune --help)
  report     HTML report of a search study:        nodetrain report <study dir>
  worker     run trials of a distributed search:   nodetrain worker --redis <url> --study <name>
  export     a saved model as ONNX (or tfjs):      nodetrain export --model <dir> --format onnx --out <file>
  help       this text

Every command takes --json: stdout then holds one JSON document (the result, or {ok: false,
error}); the human-readable lines go to stderr. nodetrain --version prints the version.

nodetrain train [options]
Trains a multilayer perceptron with a progress bar, prints per-epoch loss and the final test
scores, and saves the model. Without --data it uses the bundled handwritten digits.

Data (CSV files with a header row; numeric and text columns, missing cells allowed):
  --data <file.csv>        training data (default: bundled digits)
  --target <column>        target column name or 0-based index (required with --data)
  --task <kind>            classification or regression (default: detected from the target and printed)
  --columns <a,b,...>      feature columns to use (default: all but the target)
  --ignore <a,b,...>       columns to leave out
  --test-data <file.csv>   test rows from a separate file (then nothing is cut from --data)
  --validation-data <file> validation rows from a separate file (then nothing is cut for validation)
  --test <fraction>        test split cut from --data, stratified for classification (default: 0.2; 0: none)
  --validation <fraction>  validation split cut from the training rows (default: 0.1; 0: none)
  --class-weight balanced  weigh each class's loss by n / (classes * count) (classification)
Model and training:
  --layers <list>          hidden layer sizes, e.g. 256,128 (default: 256,128 on digits, 64,32 on CSV data)
  --activation <name>      hidden activation (default: relu)
  --dropout <rate>         dropout after each hidden layer (default: 0)
  --optimizer <name>       sgd, adam, adamw, rmsprop, adagrad (default: adam)
  --lr <rate|auto>         learning rate, or auto (range test + one-cycle) (default: 0.001; sgd 0.01)
  --lr-schedule <name>     constant, cosine, onecycle, step, exponential, warmup-cosine (default: constant)
  --find-lr                run the learning-rate range test, print its suggestion and exit
  --momentum <m>           momentum for sgd / rmsprop (default: 0.9 for sgd)
  --weight-decay <wd>      weight decay
  --precision <p>          float32 or bf16 (bf16 matrix products, float32 accumulation; default: float32)
  --epochs <n>             epochs (default: 10 on digits; on CSV data enough for 2,000 steps, at most 500)
  --batch-size <n>         mini-batch size (default: 64; on CSV data smaller for small files)
  --patience <n>           early-stopping patience on val_loss (default: off on digits; on CSV data
                           with validation, a tenth of the epochs, 5 to 30)
  --seed <n>               seed for initialisation, splits, shuffling (default: 1)
  --threads <n>            threads in the shared pool (default: all cores)
  --out <dir>              where to save the model (default: ./nodetrain-model)
  --log <file>             write per-epoch logs (CSV, or JSON lines for .jsonl)
  --quiet                  no progress bar
  -h, --help               this help

Classification reports accuracy, macro-F1 and the confusion matrix; regression reports RMSE, MAE
and R² on the target's own scale. A model trained on CSV data saves its preprocessing (column
types, imputation, scaling, categories, classes), so evaluate and predict take raw rows.
`;

let jsonOut: ((s: string) => void) | null = null; // --json: where the one JSON document goes

function fail(msg: string, code = 'ERR_NT_USAGE', status = 2): never {
  if (jsonOut) jsonOut(`${JSON.stringify({ ok: false, error: { message: msg, code } })}\n`);
  process.stderr.write(`nodetrain: ${msg}\n${status === 2 ? "Run 'nodetrain help' for usage.\n" : ''}`);
  process.exit(status);
}

function num(name: string, s: string | undefined, dflt: number, int = false): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) fail(`Expected ${int ? 'an integer' : 'a number'} for --${name} but received "${s}"`);
  return n;
}

async function train(argv: string[]): Promise<Record<string, unknown>> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        target: { type: 'string' },
        task: { type: 'string' },
        columns: { type: 'string' },
        ignore: { type: 'string' },
        'test-data': { type: 'string' },
        'validation-data': { type: 'string' },
        'class-weight': { type: 'string' },
        layers: { type: 'string' },
        activation: { type: 'string' },
        dropout: { type: 'string' },
        optimizer: { type: 'string' },
        lr: { type: 'string' },
        'lr-schedule': { type: 'string' },
        'find-lr': { type: 'boolean' },
        momentum: { type: 'string' },
        'weight-decay': { type: 'string' },
        precision: { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        validation: { type: 'string' },
        test: { type: 'string' },
        patience: { type: 'string' },
        seed: { type: 'string' },
        threads: { type: 'string' },
        out: { type: 'string' },
        log: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (a.help) {
    process.stdout.write(HELP);
    return {};
  }
  const bad = trainFlagError(a);
  if (bad) fail(bad);
  const seed = num('seed', a.seed, 1, true);
  if (a.threads !== undefined) nt.setNumThreads(num('threads', a.threads, 1, true));
  const taskArg = a.task ?? 'auto';
  if (taskArg !== 'classification' && taskArg !== 'regression' && taskArg !== 'auto') fail(`Expected classification or regression for --task but received "${taskArg}"`);
  const fraction = (name: string, s: string | undefined, dflt: number) => {
    const f = num(name, s, dflt);
    if (f < 0 || f >= 1) fail(`Expected a fraction in [0, 1) for --${name} but received "${s}"`);
    return f;
  };
  const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

  // ---- data
  let train: nt.Dataset;
  let test: nt.Dataset | null = null;
  let val: nt.Dataset | null = null;
  let valFrac = 0;
  let metadata: Record<string, unknown> = {};
  let dataName: string;
  let task: nt.TabularTask = 'classification';
  let pre: nt.Preprocessor | null = null;
  const given = {
    batchSize: a['batch-size'] === undefined ? undefined : num('batch-size', a['batch-size'], 64, true),
    epochs: a.epochs === undefined ? undefined : num('epochs', a.epochs, 10, true),
    patience: a.patience === undefined ? undefined : num('patience', a.patience, 0, true),
  };
  let batchSize: number;
  let epochs: number;
  let patience: number;
  if (a.data) {
    if (a.target === undefined) fail('Expected --target <column> with --data');
    const table = await nt.loadCsvTable(a.data);
    const target = /^\d+$/.test(a.target) && !table.names.includes(a.target) ? table.names[Number(a.target)] : a.target;
    if (target === undefined) fail(`Expected a column index below ${table.names.length} for --target but received "${a.target}"`);
    const columns = list(a.columns);
    const ignore = list(a.ignore);
    // The task and the classes come from the whole file; every statistic of the features is fitted
    // on the training rows alone.
    const probe = nt.Preprocessor.fit(table, { target, task: taskArg, columns, ignore });
    task = probe.task;
    process.stdout.write(`task: ${probe.decision}${taskArg === 'auto' ? ' (override with --task)' : ''}\n`);
    const labels = task === 'classification' ? (probe.transformTarget(table).data() as Int32Array) : null;
    const testTable = a['test-data'] ? await nt.loadCsvTable(a['test-data']) : null;
    const valTable = a['validation-data'] ? await nt.loadCsvTable(a['validation-data']) : null;
    const testFrac = testTable ? 0 : fraction('test', a.test, 0.2);
    const vFrac = valTable ? 0 : fraction('validation', a.validation, 0.1);
    const rows = splitRows(table.rows, labels, testFrac, vFrac * (1 - testFrac), seed);
    const trainTable = selectRows(table, rows.train);
    pre = nt.Preprocessor.fit(trainTable, { target, task, classNames: probe.classNames, columns, ignore, types: probe.columnTypes });
    train = pre.toDataset(trainTable);
    if (testTable) test = pre.toDataset(testTable);
    else if (rows.test.length) test = pre.toDataset(selectRows(table, rows.test));
    if (valTable) val = pre.toDataset(valTable);
    else if (rows.val.length) val = pre.toDataset(selectRows(table, rows.val));
    metadata = { preprocessor: pre.toJSON(), task, target, featureColumns: pre.inputColumns };
    const types = Object.values(pre.columnTypes);
    const nCat = types.filter((t) => t === 'categorical').length;
    dataName = `${a.data} (${table.rows} rows; ${types.length} feature columns${nCat ? `, ${nCat} categorical` : ''} -> ${pre.numFeatures} inputs; ` +
      `${train.size} train, ${val ? val.size : 0} validation${valTable ? ' (file)' : ''}, ${test ? test.size : 0} test${testTable ? ' (file)' : ''})`;
    const d = adaptiveDefaults(train.size, val !== null, given);
    ({ batchSize, epochs, patience } = d);
    if (d.note) process.stdout.write(`${d.note}\n`);
  } else {
    ({ train, test } = nt.loadDigits({ seed }));
    valFrac = fraction('validation', a.validation, 0.1);
    dataName = `bundled digits (${train.size} train, ${test!.size} test, 28x28 pixels)`;
    batchSize = given.batchSize ?? 64;
    epochs = given.epochs ?? 10;
    patience = given.patience ?? 0;
  }
  const hidden = (a.layers ?? (a.data ? '64,32' : '256,128')).split(',').filter(Boolean).map((s) => num('layers', s, 0, true));
  const classes = task === 'classification' ? (pre ? pre.numOutputs : (train.numClasses ?? Math.max(...Array.from(train.y.data() as Int32Array)) + 1)) : 0;
  const outUnits = task === 'classification' ? classes : 1;

  // ---- model
  const act = (a.activation ?? 'relu') as nt.ActivationName;
  const dropoutRate = num('dropout', a.dropout, 0);
  const layerList: nt.Layer[] = [];
  hidden.forEach((units, i) => {
    layerList.push(nt.dense({ units, activation: act, inputShape: i === 0 ? [train.numFeatures] : undefined, kernelInitializer: act === 'relu' ? 'heUniform' : 'glorotUniform' }));
    if (dropoutRate > 0) layerList.push(nt.dropout({ rate: dropoutRate }));
  });
  layerList.push(nt.dense({ units: outUnits, activation: task === 'classification' ? 'softmax' : 'linear', inputShape: hidden.length === 0 ? [train.numFeatures] : undefined }));
  const model = nt.sequential(layerList, { seed });

  const optName = (a.optimizer ?? 'adam') as nt.OptimizerType;
  const lrArg = a.lr ?? (optName === 'sgd' ? '0.01' : String(nt.DEFAULT_LEARNING_RATE));
  const lr: number | 'auto' = lrArg === 'auto' ? 'auto' : num('lr', lrArg, 0);
  const steps = Math.ceil((train.size * (1 - valFrac)) / batchSize) * epochs;
  const schedule = a['lr-schedule'] ?? 'constant';
  let lrSpec: nt.LrSpec = lr;
  if (typeof lr === 'number') {
    switch (schedule) {
      case 'constant':
        break;
      case 'cosine':
        lrSpec = nt.cosine(lr, { tMax: steps });
        break;
      case 'onecycle':
        lrSpec = nt.oneCycle({ maxLr: lr, totalSteps: steps });
        break;
      case 'step':
        lrSpec = nt.step(lr, { stepSize: Math.max(1, Math.floor(steps / 3)), gamma: 0.1 });
        break;
      case 'exponential':
        lrSpec = nt.exponential(lr, { gamma: Math.pow(0.01, 1 / Math.max(1, steps)) });
        break;
      case 'warmup-cosine':
        lrSpec = nt.warmupCosine(lr, { warmupSteps: Math.max(1, Math.floor(steps / 20)), totalSteps: steps });
        break;
      default:
        fail(`Expected one of constant, cosine, onecycle, step, exponential, warmup-cosine for --lr-schedule but received "${schedule}"`);
    }
  }
  const optOpts: Record<string, unknown> = { lr: lrSpec };
  if (a['weight-decay'] !== undefined) optOpts.weightDecay = num('weight-decay', a['weight-decay'], 0);
  if (optName === 'sgd') optOpts.momentum = num('momentum', a.momentum, 0.9);
  else if (optName === 'rmsprop' && a.momentum !== undefined) optOpts.momentum = num('momentum', a.momentum, 0);
  const factories = { sgd: nt.sgd, adam: nt.adam, adamw: nt.adamw, rmsprop: nt.rmsprop, adagrad: nt.adagrad } as Record<string, (o: object) => nt.OptimizerConfig>;
  if (!factories[optName]) fail(`Expected one of sgd, adam, adamw, rmsprop, adagrad for --optimizer but received "${optName}"`);
  const optimizer = factories[optName](optOpts);
  const loss = task === 'classification' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError';
  const precision = (a.precision ?? 'float32') as nt.Precision;
  model.compile({ optimizer, loss, metrics: task === 'classification' ? (pre ? ['accuracy', 'f1'] : ['accuracy']) : ['rmse', 'r2'], precision });
  const classWeight = a['class-weight'];
  if (classWeight !== undefined && (classWeight !== 'balanced' || task !== 'classification')) {
    fail(classWeight !== 'balanced' ? `Expected balanced for --class-weight but received "${classWeight}"` : 'Expected a classification task for --class-weight but received a regression');
  }

  process.stdout.write(`nodetrain: ${dataName}\n${model.summary()}\n`);
  process.stdout.write(`optimizer ${optName}, lr ${typeof lrSpec === 'object' ? `${schedule} schedule from ${lr}` : lr}, ${epochs} epochs, batch ${batchSize}, ${nt.getNumThreads()} threads${precision === 'bf16' ? `, precision bf16 (${nt.cpuFeatures().bf16Gemm})` : ''}\n`);

  if (a['find-lr']) {
    const r = await nt.findLearningRate(model, train, { batchSize, seed });
    process.stdout.write(`learning-rate range test: valley ${r.suggestions.valley.toExponential(2)}, steepest ${r.suggestions.steepest.toExponential(2)}, minimum/10 ${r.suggestions.minimum.toExponential(2)}\n`);
    return { lrFinder: r.suggestions };
  }

  const callbacks: nt.Callback[] = [];
  if (patience > 0 && (val || valFrac > 0)) callbacks.push(nt.earlyStopping({ monitor: 'val_loss', patience, restoreBestWeights: true }));
  if (a.log) callbacks.push(new nt.CsvLogger(a.log));
  const t0 = Date.now();
  const history = await fitInterruptible(model, train, { epochs, batchSize, validationSplit: !val && valFrac > 0 ? valFrac : undefined, validationData: val ?? undefined, classWeight: classWeight as 'balanced' | undefined, seed, callbacks, verbose: a.quiet ? 0 : 1, lr: lr === 'auto' ? 'auto' : undefined } as nt.FitOptions, { out: a.out ?? 'nodetrain-model', metadata });
  const secs = (Date.now() - t0) / 1000;
  if (a.quiet) {
    history.epoch.forEach((e, i) => {
      const parts = Object.entries(history.history).map(([k, vals]) => `${k} ${vals[i].toFixed(4)}`);
      process.stdout.write(`epoch ${e + 1}: ${parts.join(', ')}\n`);
    });
  }
  process.stdout.write(`trained ${history.epoch.length} epochs in ${secs < 10 ? secs.toFixed(2) : secs.toFixed(1)} s\n`);
  let scores: Record<string, number> | null = null;
  if (test && test.size > 0) {
    if (pre) {
      const { lines, summary } = await scoreLines(model, pre, test, 'test');
      scores = summary;
      process.stdout.write(`${lines.join('\n')}\n`);
    } else {
      const result = await model.evaluate(test);
      scores = result;
      process.stdout.write(`test loss ${result.loss.toFixed(4)}, test accuracy ${(result.accuracy * 100).toFixed(2)}%\n`);
    }
  } else {
    process.stdout.write('no test rows (--test 0): the model is saved unscored; score it later with nodetrain evaluate\n');
  }
  const out = a.out ?? 'nodetrain-model';
  await model.save(out, { metadata });
  process.stdout.write(`saved the model to ${path.resolve(out)}\n`);
  return { epochs: history.epoch.length, seconds: secs, history: history.history, test: scores, model: path.resolve(out) };
}

/** Loads a model saved by `train` on CSV data, with its preprocessing. */
async function loadTabular(dir: string): Promise<{ model: nt.Model; pre: nt.Preprocessor }> {
  const { model, metadata } = await nt.loadModel(dir);
  if (!metadata.preprocessor) fail(`Expected a model trained on CSV data (with saved preprocessing) for --model but received ${dir}, which has none`);
  return { model, pre: nt.Preprocessor.fromJSON(metadata.preprocessor) };
}

function parseModelData(cmd: string, argv: string[], extra: Record<string, { type: 'string' | 'boolean' }> = {}): Record<string, string | boolean | undefined> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { model: { type: 'string' }, data: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...extra }, strict: true }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (a.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (typeof a.model !== 'string') fail(`Expected --model <dir> for ${cmd}`);
  if (typeof a.data !== 'string') fail(`Expected --data <file.csv> for ${cmd}`);
  if (typeof a.threads === 'string') nt.setNumThreads(num('threads', a.threads, 1, true));
  return a;
}

async function evaluate(argv: string[]): Promise<Record<string, unknown>> {
  const a = parseModelData('evaluate', argv, { target: { type: 'string' } });
  const { model, pre } = await loadTabular(a.model as string);
  const saved = pre.toJSON() as { target?: unknown };
  if (typeof a.target === 'string' && a.target !== saved.target) fail(`Expected the target the model was trained on ("${String(saved.target)}") for --target but received "${a.target}"`);
  const ds = pre.toDataset(await nt.loadCsvTable(a.data as string));
  const { lines, summary } = await scoreLines(model, pre, ds, 'test');
  process.stdout.write(`${lines.join('\n')}\n`);
  return { scores: summary };
}

async function predict(argv: string[]): Promise<Record<string, unknown>> {
  const a = parseModelData('predict', argv, { output: { type: 'string' }, out: { type: 'string' } });
  if (typeof a.out === 'string' && typeof a.output === 'string') fail('Expected either --out or --output (the same option), not both');
  const file = typeof a.out === 'string' ? a.out : a.output;
  const { model, pre } = await loadTabular(a.model as string);
  const csv = await predictionCsv(model, pre, await nt.loadCsvTable(a.data as string));
  const rows = csv.split('\n').length - 2;
  if (typeof file === 'string') {
    fs.writeFileSync(file, csv);
    process.stdout.write(`wrote ${rows} predictions to ${path.resolve(file)}\n`);
    return { rows, out: path.resolve(file) };
  }
  process.stdout.write(csv);
  return { rows, csv: jsonOut ? csv : undefined };
}

/** The version in the package's package.json (the nearest one named nodetrain above this file). */
function packageVersion(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    try {
      const p = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'nodetrain' && p.version) return p.version;
    } catch {
      /* none here */
    }
    if (path.dirname(d) === d) return 'unknown';
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // --json anywhere: stdout carries one JSON document; human-readable output goes to stderr.
  const json = args.includes('--json');
  const [cmd, ...rest] = args.filter((x) => x !== '--json');
  const toStdout = process.stdout.write.bind(process.stdout) as (s: string) => boolean;
  if (json) {
    jsonOut = (s) => void toStdout(s);
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  }
  if (cmd === '--version' || cmd === '-v') {
    const version = packageVersion();
    if (jsonOut) jsonOut(`${JSON.stringify({ ok: true, version })}\n`);
    else toStdout(`${version}\n`);
    return;
  }
  let result: Record<string, unknown> | void = {};
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') process.stdout.write(HELP + EXPORT_HELP);
  else if (cmd === 'train') result = await train(rest);
  else if (cmd === 'evaluate') result = await evaluate(rest);
  else if (cmd === 'predict') result = await predict(rest);
  else if (cmd === 'export') result = await exportCommand(rest);
  else if (cmd === 'search') result = await searchCommand(rest);
  else if (cmd === 'report') result = await reportCommand(rest);
  else if (cmd === 'finetune') result = await finetuneCommand(rest);
  else if (cmd === 'worker') result = await workerCommand(rest);
  else fail(`unknown command "${cmd}"`);
  if (jsonOut) jsonOut(`${JSON.stringify({ ok: true, command: cmd ?? 'help', ...(result ?? {}) })}\n`);
}

main().catch((e: unknown) => {
  const err = e as { message?: string; code?: string };
  if (jsonOut) jsonOut(`${JSON.stringify({ ok: false, error: { message: err?.message ?? String(e), code: err?.code } })}\n`);
  process.stderr.write(`nodetrain: ${err?.message ?? String(e)}${err?.code ? ` (${err.code})` : ''}\n`);
  process.exit(1);
});
