/**
 * `nodetrain search`: architecture and hyperparameter search over the built-in MLP space, on a CSV
 * file or the bundled digits, with a live progress line, a final table, the best model saved in the
 * study folder, and resume when the folder exists. Uses only the public API.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';

import * as nt from '../index';
import * as nas from '../nas/index';
import { intFlag, parseDuration, usage } from './args';

export const SEARCH_HELP = `Usage: nodetrain search (--data <file.csv> --target <column> | --digits) [options]

Searches MLP architectures and training settings, saves every trial in a study folder (resumed when
it exists) and the best model in <study>/best-model.

Options:
  --data <file.csv>          CSV file with a header row
  --target <column>          target column name or 0-based index (with --data)
  --task <kind>              classification (default) or regression (CSV data)
  --digits                   the bundled handwritten digits
  --train-size <n>           digits used for training and validation (default 3000)
  --strategy <name>          random, grid, tpe (default), evolution, asha, hyperband, oneshot
                             (oneshot: a weight-sharing supernet over depth and widths, trained once;
                             the top 5 and trials-5 held-out candidates are retrained)
  --trials <n>               trials in the study (default 20)
  --time-budget <t>          stop after this long: 90s, 5m, 1h (default: none)
  --epochs <n>               epochs per trial (default 8)
  --workers <n>              worker threads, 0 to run in this thread (default 2)
  --threads-per-worker <n>   kernel threads per worker (default 1)
  --trial-timeout <t>        fail a trial running longer than this
  --study <dir>              the study folder (default ./nodetrain-search)
  --objectives <list>        accuracy, loss, params, latency (default accuracy; loss for regression)
  --seed <n>                 study seed (default 1)
  --allow-space-change       continue a study whose search space changed
  --worker-script <file>     compiled worker entry (default: the packaged one)
  --redis <url>              distributed: the study lives in Redis under the name --study, trials go
                             to a BullMQ queue that \`nodetrain worker\` processes run (--workers is
                             then the number of trials in flight); best model in ./<study>-best-model
  --redis-ca <file>          CA certificate for a rediss:// (TLS) server
  --quiet                    no progress line
  -h, --help                 this help
`;

export { parseDuration };

function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function fmtValue(name: string, v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (name === 'accuracy') return `${(v * 100).toFixed(2)}%`;
  if (name === 'params') return String(Math.round(v));
  if (name === 'latency') return `${v.toFixed(2)}us`;
  return v.toPrecision(4);
}

function fmtParams(p: nas.TrialParams): string {
  const d = p.depth as number;
  const parts: string[] = [];
  if (d !== undefined) {
    const layers = Array.from({ length: d }, (_, i) => `${p[`width_${i + 1}`] ?? '?'}${p[`activation_${i + 1}`] ? `/${p[`activation_${i + 1}`]}` : ''}`);
    parts.push(layers.join('-'));
  }
  for (const k of ['normalization', 'dropout', 'skip', 'optimizer', 'lr', 'batchSize', 'weightDecay']) {
    if (k in p) parts.push(`${k} ${typeof p[k] === 'number' && k === 'lr' ? (p[k] as number).toExponential(1) : p[k]}`);
  }
  return parts.join(', ');
}

/**
 * Runs `nodetrain search` with the given arguments (those after "search").
 * @throws NodetrainError ERR_NT_USAGE for invalid arguments; ERR_NT_STUDY_MISMATCH when the study
 *   folder holds another search.
 * @example await searchCommand(['--digits', '--trials', '10', '--study', './s']);
 */
export async function searchCommand(argv: string[]): Promise<void> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        target: { type: 'string' },
        task: { type: 'string' },
        digits: { type: 'boolean' },
        'train-size': { type: 'string' },
        strategy: { type: 'string' },
        trials: { type: 'string' },
        'time-budget': { type: 'string' },
        epochs: { type: 'string' },
        workers: { type: 'string' },
        'threads-per-worker': { type: 'string' },
        'trial-timeout': { type: 'string' },
        study: { type: 'string' },
        objectives: { type: 'string' },
        seed: { type: 'string' },
        'allow-space-change': { type: 'boolean' },
        'worker-script': { type: 'string' },
        redis: { type: 'string' },
        'redis-ca': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (a.help) {
    process.stdout.write(SEARCH_HELP);
    return;
  }
  if (!!a.data === !!a.digits) usage('Expected exactly one of --data <file.csv> or --digits');
  if (a.data && a.target === undefined) usage('Expected --target <column> with --data');
  const task = (a.task ?? 'classification') as 'classification' | 'regression';
  if (task !== 'classification' && task !== 'regression') usage(`Expected classification or regression for --task but received "${a.task}"`);
  const data: nas.DataSpec = a.data
    ? { kind: 'csv', path: path.resolve(a.data), target: /^\d+$/.test(a.target!) ? Number(a.target) : a.target!, task }
    : { kind: 'digits', trainSize: intFlag('train-size', a['train-size'], 3000, 10), testSize: 1000, seed: 0 };
  const epochs = intFlag('epochs', a.epochs, 8, 1);
  const strategy = a.strategy ?? 'tpe';
  const trials = intFlag('trials', a.trials, 20, 1);
  const workers = intFlag('workers', a.workers, 2, 0);
  const threads = intFlag('threads-per-worker', a['threads-per-worker'], 1, 1);
  const seed = intFlag('seed', a.seed, 1, 0);
  const redis = a.redis ? { url: a.redis, name: a.study ?? 'nodetrain-search', tls: a['redis-ca'] ? { ca: fs.readFileSync(path.resolve(a['redis-ca'])) } : undefined } : null;
  if (redis && workers < 1) usage('Expected --workers >= 1 (trials in flight) with --redis but received 0');
  const dir = path.resolve(redis ? `${redis.name}-best-model` : a.study ?? 'nodetrain-search');
  const storage = redis ? await nas.redisStorage(redis.url, redis.name, { tls: redis.tls }) : undefined;
  const defaultObjective = task === 'regression' ? 'loss' : 'accuracy';
  const names = (a.objectives ?? defaultObjective).split(',').map((s) => s.trim()).filter(Boolean);
  const known: Record<string, nas.Direction> = { accuracy: 'maximize', loss: 'minimize', params: 'minimize', latency: 'minimize' };
  for (const n of names) if (!(n in known) || (n === 'accuracy' && task === 'regression')) usage(`Expected objectives from ${task === 'regression' ? 'loss' : 'accuracy, loss'}, params, latency for --objectives but received "${n}"`);
  const objectives = names.map((name) => ({ name, direction: known[name] }));

  let sampler: nas.Sampler;
  let pruner: nas.Pruner | undefined;
  switch (strategy) {
    case 'random':
      sampler = nas.randomSampler();
      break;
    case 'grid':
      sampler = nas.gridSampler({ seed, pointsPerFloat: 3 });
      break;
    case 'tpe':
      sampler = nas.tpeSampler();
      break;
    case 'evolution':
      sampler = nas.evolutionSampler({ populationSize: Math.max(4, Math.min(20, Math.floor(trials / 3))), sampleSize: 3 });
      break;
    case 'asha':
      sampler = nas.randomSampler();
      pruner = nas.ashaPruner({ reductionFactor: 3 });
      break;
    case 'hyperband':
      sampler = nas.randomSampler();
      pruner = nas.hyperbandPruner({ maxResource: epochs, reductionFactor: 3 });
      break;
    case 'oneshot':
      sampler = nas.randomSampler(); // unused: candidates come from the supernet's scores
      break;
    default:
      usage(`Expected one of random, grid, tpe, evolution, asha, hyperband, oneshot for --strategy but received "${strategy}"`);
  }

  // One-shot search shares weights across depth and widths only; the rest is fixed.
  const oneshotSpace: nas.MlpSpaceOptions = { depth: [1, 3], widths: [32, 64, 128, 256], activations: 'relu', dropout: 0, normalization: 'batch', skip: false, optimizers: 'adam', lr: 2e-3, batchSize: 64, weightDecay: 0 };
  const spec: nas.MlpObjectiveSpec = strategy === 'oneshot' ? { data, epochs, space: oneshotSpace } : { data, epochs };
  const objective = nas.mlpObjective(spec);
  const out = (s: string): boolean => process.stdout.write(s);
  const study = await nas.createStudy({
    space: objective.space,
    objectives,
    objectiveId: nas.mlpObjectiveId(spec),
    sampler,
    pruner,
    dir: storage ? undefined : dir,
    storage,
    seed,
    allowSpaceChange: a['allow-space-change'],
    log: (l) => out(`nodetrain: ${l}\n`),
  });
  const size = objective.space.size();
  const where = redis ? `${redis.name} at ${nas.redactUrl(redis.url)}, ${workers} trials in flight on \`nodetrain worker\` processes` : dir;
  out(`nodetrain: searching ${Number.isFinite(size) ? `${size} configurations` : 'an infinite space'} of MLPs on ${a.data ? path.basename(a.data) : 'the bundled digits'} with ${strategy}, ${trials} trials of up to ${epochs} epochs, ${redis ? 'distributed' : workers === 0 ? 'in this thread' : `${workers} workers x ${threads} thread${threads > 1 ? 's' : ''}`}; study in ${where}\n`);

  const executor = redis
    ? await nas.redisExecutor({ url: redis.url, study: redis.name, tls: redis.tls, objective: { builtin: 'mlp', spec }, concurrency: workers })
    : workers === 0
      ? nas.inlineExecutor(objective)
      : nas.workerExecutor({ objective: { builtin: 'mlp', spec }, workers, threadsPerWorker: threads, workerScript: a['worker-script'] ? path.resolve(a['worker-script']) : undefined });
  const tty = process.stderr.isTTY === true;
  const first = objectives[0].name;
  let lastLine = '';
  const onProgress = (p: nas.Progress): void => {
    if (a.quiet) return;
    const line = `trials ${p.done} done, ${p.running} running, ${p.pruned} pruned, ${p.failed} failed | best ${first} ${fmtValue(first, p.best?.values?.[0])}${p.best ? ` (#${p.best.number})` : ''} | ${p.timeLeftMs !== undefined ? `${fmtDuration(p.timeLeftMs)} left` : `${fmtDuration(p.elapsedMs)} elapsed`}`;
    if (line === lastLine) return;
    lastLine = line;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  if (redis) process.once('SIGTERM', onSigint);
  let r: nas.OptimizeResult;
  try {
    if (strategy === 'oneshot') {
      out('nodetrain: training the supernet (single-path, uniform sampling) and scoring every candidate\n');
      const os1 = await nas.oneShotSearch(study, nas.supernetStrategy(objective.space, spec, { epochs }), { executor, retrainTop: Math.min(5, trials), heldOut: Math.max(0, trials - 5), signal: ac.signal });
      r = os1.optimize;
      out(`one-shot: ${os1.candidates.length} candidates scored; rank correlation with retrained accuracy over ${os1.retrained.length} candidates: Kendall tau ${os1.kendallTau.toFixed(3)}, Spearman ${os1.spearman.toFixed(3)}\n`);
    } else
    r = await study.optimize({
      trials,
      executor,
      timeBudgetMs: a['time-budget'] ? parseDuration('time-budget', a['time-budget']) : undefined,
      trialTimeoutMs: a['trial-timeout'] ? parseDuration('trial-timeout', a['trial-timeout']) : undefined,
      signal: ac.signal,
      maxSteps: epochs,
      onProgress,
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await executor.close();
    if (storage && r!?.best) {
      const packed = await storage.bestModel().catch(() => null);
      if (packed) {
        fs.rmSync(dir, { recursive: true, force: true });
        nas.unpackDir(packed.bytes, dir);
      }
    }
    await storage?.close();
  }
  if (tty && !a.quiet) process.stderr.write('\n');

  const done = r.trials.filter((t) => t.state === 'complete');
  const sg = objectives[0].direction === 'maximize' ? -1 : 1;
  const top = [...done].sort((x, y) => sg * (x.values![0] - y.values![0]) || x.number - y.number).slice(0, 10);
  const counts = (s: nas.TrialState): number => r.trials.filter((t) => t.state === s).length;
  out(`\nsearch ended (${r.reason}): ${r.trials.length} trials, ${done.length} complete, ${counts('pruned')} pruned, ${counts('failed')} failed, ${counts('stale')} to retry\n`);
  const cols = ['rank', 'trial', ...names, ...['params', 'latency'].filter((n) => !names.includes(n)), 'configuration'];
  const rows = top.map((t, i) => [String(i + 1), `#${t.number}`, ...cols.slice(2, -1).map((n) => fmtValue(n, t.metrics?.[n])), fmtParams(t.params)]);
  const widths = cols.map((c, j) => Math.max(c.length, ...rows.map((row) => row[j].length)));
  const fmtRow = (row: string[]): string => row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j]))).join('  ');
  out(`${fmtRow(cols)}\n${rows.map(fmtRow).join('\n')}\n`);
  if (objectives.length > 1) {
    out(`Pareto front (${objectives.map((o) => `${o.direction === 'maximize' ? 'max' : 'min'} ${o.name}`).join(', ')}): ${r.paretoFront.map((t) => `#${t.number} [${objectives.map((o, j) => fmtValue(o.name, t.values![j])).join(', ')}]`).join(' ')}\n`);
  }
  if (r.best) {
    const bestDir = redis ? dir : path.join(dir, 'best-model');
    try {
      const { model } = await nt.loadModel(bestDir);
      const loaded = await nas.loadData(spec);
      if (loaded.test) {
        const ev = await model.evaluate(loaded.test);
        out(`best trial #${r.best.number}: test ${loaded.task === 'classification' ? `accuracy ${(ev.accuracy * 100).toFixed(2)}%` : `loss ${ev.loss.toPrecision(4)}`}, ${model.countParams()} parameters; model saved in ${bestDir}\n`);
      } else out(`best trial #${r.best.number}; model saved in ${bestDir}\n`);
    } catch (e) {
      out(`best trial #${r.best.number}; its model could not be read from ${bestDir}: ${(e as Error).message}\n`);
    }
  } else out('no trial completed\n');
}

export const REPORT_HELP = `Usage: nodetrain report <study dir> [--out <file.html>]

Writes one self-contained HTML page (default <study dir>/report.html) with the optimisation history,
parallel coordinates, parameter importances, intermediate values and the Pareto front.
`;

/**
 * Runs `nodetrain report <study>` (the arguments after "report").
 * @throws NodetrainError ERR_NT_USAGE for invalid arguments; ERR_NT_NO_STUDY for a folder without a study.
 * @example await reportCommand(['./nodetrain-search']);
 */
export async function reportCommand(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    usage((e as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(REPORT_HELP);
    return;
  }
  if (parsed.positionals.length !== 1) usage(`Expected one study folder for report but received ${parsed.positionals.length} arguments`);
  const dir = path.resolve(parsed.positionals[0]);
  const file = nas.writeReport(dir, parsed.values.out ? path.resolve(parsed.values.out) : undefined);
  process.stdout.write(`nodetrain: wrote ${file}\n`);
}
