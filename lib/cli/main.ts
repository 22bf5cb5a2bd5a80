#!/usr/bin/env node
/**
 * The nodetrain command line. Uses only the public API.
 *   nodetrain train [options]   train an MLP (bundled digits by default, or a CSV file)
 *   nodetrain help
 */
import * as path from 'path';
import { parseArgs } from 'util';

import * as nt from '../index';

const HELP = `Usage: nodetrain train [options]

Trains a multilayer perceptron with a progress bar, prints per-epoch loss and accuracy and the
final test accuracy, and saves the model. Without --data it uses the bundled handwritten digits.

Options:
  --data <file.csv>        CSV file with a header row (default: bundled digits)
  --target <column>        target column name or 0-based index (required with --data)
  --task <kind>            classification (default) or regression (CSV data)
  --layers <list>          hidden layer sizes, e.g. 256,128 (default: 256,128)
  --activation <name>      hidden activation (default: relu)
  --dropout <rate>         dropout after each hidden layer (default: 0)
  --optimizer <name>       sgd, adam, adamw, rmsprop, adagrad (default: adam)
  --lr <rate|auto>         learning rate, or auto (range test + one-cycle) (default: 0.001)
  --lr-schedule <name>     constant, cosine, onecycle, step, exponential, warmup-cosine (default: constant)
  --find-lr                run the learning-rate range test, print its suggestion and exit
  --momentum <m>           momentum for sgd / rmsprop (default: 0.9 for sgd)
  --weight-decay <wd>      weight decay
  --epochs <n>             epochs (default: 10)
  --batch-size <n>         mini-batch size (default: 64)
  --validation <fraction>  validation split of the training data (default: 0.1)
  --test <fraction>        test split for CSV data (default: 0.2)
  --patience <n>           early-stopping patience on val_loss (default: off)
  --seed <n>               seed for initialisation, splits, shuffling (default: 1)
  --threads <n>            threads in the shared pool (default: all cores)
  --out <dir>              where to save the model (default: ./nodetrain-model)
  --log <file>             write per-epoch logs (CSV, or JSON lines for .jsonl)
  --quiet                  no progress bar
  -h, --help               this help
`;

function fail(msg: string): never {
  process.stderr.write(`nodetrain: ${msg}\nRun 'nodetrain help' for usage.\n`);
  process.exit(2);
}

function num(name: string, s: string | undefined, dflt: number, int = false): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) fail(`Expected ${int ? 'an integer' : 'a number'} for --${name} but received "${s}"`);
  return n;
}

async function train(argv: string[]): Promise<void> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        target: { type: 'string' },
        task: { type: 'string' },
        layers: { type: 'string' },
        activation: { type: 'string' },
        dropout: { type: 'string' },
        optimizer: { type: 'string' },
        lr: { type: 'string' },
        'lr-schedule': { type: 'string' },
        'find-lr': { type: 'boolean' },
        momentum: { type: 'string' },
        'weight-decay': { type: 'string' },
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
    return;
  }
  const seed = num('seed', a.seed, 1, true);
  const epochs = num('epochs', a.epochs, 10, true);
  const batchSize = num('batch-size', a['batch-size'], 64, true);
  const valFrac = num('validation', a.validation, 0.1);
  if (a.threads !== undefined) nt.setNumThreads(num('threads', a.threads, 1, true));
  const hidden = (a.layers ?? '256,128').split(',').filter(Boolean).map((s) => num('layers', s, 0, true));
  const task = a.task ?? 'classification';
  if (task !== 'classification' && task !== 'regression') fail(`Expected classification or regression for --task but received "${task}"`);

  // ---- data
  let train: nt.Dataset;
  let test: nt.Dataset;
  let metadata: Record<string, unknown> = {};
  let dataName: string;
  if (a.data) {
    if (a.target === undefined) fail('Expected --target <column> with --data');
    const target = /^\d+$/.test(a.target) ? Number(a.target) : a.target;
    const all = await nt.loadCsv(a.data, { target, labels: task === 'regression' ? 'regression' : 'integer' });
    const split = nt.splitDataset(all, { test: num('test', a.test, 0.2), seed });
    const std = nt.fitStandardizer(split.train);
    train = std.transform(split.train);
    test = std.transform(split.test!);
    metadata = { standardizer: std.toJSON(), classNames: all.classNames, featureNames: all.featureNames };
    dataName = `${path.basename(a.data)} (${all.size} rows, ${all.numFeatures} features)`;
  } else {
    ({ train, test } = nt.loadDigits({ seed }));
    dataName = `bundled digits (${train.size} train, ${test.size} test, 28x28 pixels)`;
  }
  const classes = task === 'classification' ? (train.numClasses ?? Math.max(...Array.from(train.y.data() as Int32Array)) + 1) : 0;
  const outUnits = task === 'classification' ? classes : train.y.rank === 2 ? train.y.shape[1] : 1;

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
  model.compile({ optimizer, loss, metrics: task === 'classification' ? ['accuracy'] : ['mae'] });

  process.stdout.write(`nodetrain: ${dataName}\n${model.summary()}\n`);
  process.stdout.write(`optimizer ${optName}, lr ${typeof lrSpec === 'object' ? `${schedule} schedule from ${lr}` : lr}, ${epochs} epochs, batch ${batchSize}, ${nt.getNumThreads()} threads\n`);

  if (a['find-lr']) {
    const r = await nt.findLearningRate(model, train, { batchSize, seed });
    process.stdout.write(`learning-rate range test: valley ${r.suggestions.valley.toExponential(2)}, steepest ${r.suggestions.steepest.toExponential(2)}, minimum/10 ${r.suggestions.minimum.toExponential(2)}\n`);
    return;
  }

  const callbacks: nt.Callback[] = [];
  if (a.patience !== undefined) callbacks.push(nt.earlyStopping({ monitor: 'val_loss', patience: num('patience', a.patience, 0, true), restoreBestWeights: true }));
  if (a.log) callbacks.push(new nt.CsvLogger(a.log));
  const t0 = Date.now();
  const history = await model.fit(train, { epochs, batchSize, validationSplit: valFrac > 0 ? valFrac : undefined, seed, callbacks, verbose: a.quiet ? 0 : 1, lr: lr === 'auto' ? 'auto' : undefined } as nt.FitOptions);
  const secs = (Date.now() - t0) / 1000;
  if (a.quiet) {
    history.epoch.forEach((e, i) => {
      const parts = Object.entries(history.history).map(([k, vals]) => `${k} ${vals[i].toFixed(4)}`);
      process.stdout.write(`epoch ${e + 1}: ${parts.join(', ')}\n`);
    });
  }
  const result = await model.evaluate(test);
  const metric = task === 'classification' ? `test accuracy ${(result.accuracy * 100).toFixed(2)}%` : `test mae ${result.mae.toFixed(4)}`;
  process.stdout.write(`trained ${history.epoch.length} epochs in ${secs < 10 ? secs.toFixed(2) : secs.toFixed(1)} s; test loss ${result.loss.toFixed(4)}, ${metric}\n`);
  const out = a.out ?? 'nodetrain-model';
  await model.save(out, { metadata });
  process.stdout.write(`saved the model to ${path.resolve(out)}\n`);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP);
    return;
  }
  if (cmd === 'train') return train(rest);
  fail(`unknown command "${cmd}"`);
}

main().catch((e: unknown) => {
  const err = e as { message?: string; code?: string };
  process.stderr.write(`nodetrain: ${err?.message ?? String(e)}${err?.code ? ` (${err.code})` : ''}\n`);
  process.exit(1);
});
