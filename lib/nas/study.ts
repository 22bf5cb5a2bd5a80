/**
 * A study: the controller that asks a sampler for configurations, runs them through an executor,
 * lets a pruner stop weak ones, and records everything as a log in a storage (DESIGN rule 14).
 *
 * Determinism. Trial n's seed and its sampler stream derive from (study seed, n) only. With
 * `parallelism` W (default: the executor's concurrency), trial n is created only once every trial
 * numbered n - W or less has finished, and its sampler sees exactly those as finished and trials
 * n - W + 1 .. n - 1 as running (the constant liar), whatever their real state; pruning compares
 * only with trials numbered n - W or less. So a serial run given parallelism W and a run on W
 * workers make the same trials, in the same order, with the same results (set deterministic: false
 * to let the sampler and pruner see every trial as it is, at the price of this guarantee).
 *
 * Zombies. Running trials renew a heartbeat; a trial whose owner process is gone (same host) or whose
 * heartbeat is older than staleAfterMs is marked stale (kept apart from failed) and retried with the
 * same parameters and seed. An aborted study marks its running trials stale too, so a resume reruns them.
 */
import { createHash, randomBytes } from 'crypto';
import { setMaxListeners } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as nt from './api';
import { InlineExecutor } from './executors/inline';
import type { Executor, Objective, ObjectiveResult } from './objective';
import { nonDominatedSort } from './pareto';
import { NopPruner } from './pruners/none';
import { RandomSampler } from './samplers/random';
import { Params, ParamSpec, Space, canonicalJson, deriveSeed } from './space';
import { JournalStorage, processAlive } from './storage/journal';
import { MemoryStorage, Replay, StudyHeader, StudyRecord, StudyStorage } from './storage/storage';
import { Direction, ObjectiveSpec, Pruner, Sampler, Trial, isFinished, signs } from './types';

export interface StudyOptions {
  space: Space | Record<string, ParamSpec>;
  /** What to optimise (default one objective 'value', minimised). */
  objectives?: ObjectiveSpec[] | ObjectiveSpec;
  /** The objective for optimize() without an executor; its source text ties the study. */
  objective?: Objective;
  /** What ties the study to its objective (default: a hash of `objective`'s source, or 'objective'). */
  objectiveId?: string;
  sampler?: Sampler;
  pruner?: Pruner;
  /** A folder: the study's journal and best model live there (resumed when it exists). */
  dir?: string;
  /** Any storage (default: the journal in `dir`, else memory). */
  storage?: StudyStorage;
  seed?: number;
  /** Continue a study whose space or objective changed (default: refuse). */
  allowSpaceChange?: boolean;
  /** Heartbeat of running trials (default 10 s). */
  heartbeatMs?: number;
  /** A running trial of another owner without a heartbeat for this long is stale (default 60 s). */
  staleAfterMs?: number;
  /** Progress and resume messages (default: none). */
  log?: (line: string) => void;
}

export interface OptimizeOptions {
  /** Stop creating trials once the study holds this many (resumes count what is there). */
  trials?: number;
  /** Wall-clock budget for this call; running trials are stopped (and left to retry) at the end. */
  timeBudgetMs?: number;
  /** Default: an inline executor around the study's objective. */
  executor?: Executor;
  /** Trials that see each other as running (default: the executor's concurrency). */
  parallelism?: number;
  deterministic?: boolean;
  /** A trial running longer is stopped and recorded as failed. */
  trialTimeoutMs?: number;
  signal?: AbortSignal;
  /** The most steps (epochs) a trial reports, for pruners that need it. */
  maxSteps?: number;
  /** A sampler for this call only (default: the study's), e.g. a queue of configurations to retrain. */
  sampler?: Sampler;
  onTrial?: (t: Trial) => void;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  done: number;
  running: number;
  pruned: number;
  failed: number;
  best?: Trial;
  elapsedMs: number;
  timeLeftMs?: number;
}

export interface OptimizeResult {
  trials: Trial[];
  best?: Trial;
  paretoFront: Trial[];
  /** Why the loop ended. */
  reason: 'trials' | 'exhausted' | 'time' | 'aborted';
}

export class Study {
  readonly space: Space;
  readonly objectives: ObjectiveSpec[];
  readonly directions: Direction[];
  readonly storage: StudyStorage;
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  seed: number;
  readonly owner: string;
  /** Set by createStudy: "resumed: N trials, M stale retried" facts. */
  resumeInfo: { resumed: boolean; trials: number; stale: number } = { resumed: false, trials: 0, stale: 0 };
  readonly #replay = new Replay();
  readonly #objective?: Objective;
  readonly #heartbeatMs: number;
  readonly #staleAfterMs: number;
  readonly #log: (line: string) => void;
  #bestSaved: number | null = null;

  /** @internal use createStudy() */
  constructor(o: { space: Space; objectives: ObjectiveSpec[]; storage: StudyStorage; sampler: Sampler; pruner: Pruner; seed: number; objective?: Objective; heartbeatMs: number; staleAfterMs: number; log: (l: string) => void }) {
    this.space = o.space;
    this.objectives = o.objectives;
    this.directions = o.objectives.map((x) => x.direction);
    this.storage = o.storage;
    this.sampler = o.sampler;
    this.pruner = o.pruner;
    this.seed = o.seed;
    this.#objective = o.objective;
    this.#heartbeatMs = o.heartbeatMs;
    this.#staleAfterMs = o.staleAfterMs;
    this.#log = o.log;
    this.owner = (o.storage as JournalStorage).owner ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  get header(): StudyHeader | null {
    return this.#replay.header;
  }

  /** All trials, by number (copies of the derived state). */
  get trials(): Trial[] {
    return this.#replay.trials.filter(Boolean).map((t) => ({ ...t, intermediate: new Map(t.intermediate) }));
  }

  /** The best complete trial by the first objective. */
  get best(): Trial | undefined {
    return bestOf(this.#replay.trials.filter(Boolean), this.directions);
  }

  /** The non-dominated complete trials (every objective). */
  paretoFront(): Trial[] {
    const done = this.#replay.trials.filter((t) => t && t.state === 'complete' && t.values);
    const sg = signs(this.directions);
    const fronts = nonDominatedSort(done.map((t) => t.values!.map((v, j) => sg[j] * v)));
    return (fronts[0] ?? []).map((i) => done[i]).sort((a, b) => a.number - b.number);
  }

  #cursor: unknown = undefined;
  #syncing: Promise<void> = Promise.resolve();

  /** Reads records appended since the last sync (by any process); concurrent calls run in turn. */
  sync(): Promise<void> {
    const p = this.#syncing.then(async () => {
      const { records, cursor } = await this.storage.read(this.#cursor);
      this.#cursor = cursor;
      this.#replay.apply(records);
    });
    this.#syncing = p.catch(() => undefined);
    return p;
  }

  async #append(records: StudyRecord[]): Promise<void> {
    await this.storage.append(records);
    await this.sync();
  }

  /** Marks running trials of dead or silent owners as stale; returns how many. */
  async markStale(): Promise<number> {
    await this.sync();
    const now = Date.now();
    const recs: StudyRecord[] = [];
    for (const t of this.#replay.trials) {
      if (!t || t.state !== 'running' || t.owner === this.owner) continue;
      const [host, pidS] = (t.owner ?? '').split(':');
      const pid = Number(pidS);
      let reason: string | null = null;
      if (host === os.hostname() && pid !== process.pid && !processAlive(pid)) reason = `owner process ${pid} is gone`;
      else if (now - t.lastHeartbeat > this.#staleAfterMs) reason = `no heartbeat for ${now - t.lastHeartbeat} ms`;
      if (reason) recs.push({ op: 'stale', number: t.number, attempt: t.attempt, reason, ts: now });
    }
    if (recs.length) await this.#append(recs);
    return recs.length;
  }

  #values(result: ObjectiveResult): { values: number[]; metrics: Record<string, number> } {
    if (typeof result === 'number') {
      if (this.objectives.length !== 1) throw new RangeError(`Expected ${this.objectives.length} objective values for the objective's result but received one number`);
      return { values: [result], metrics: { [this.objectives[0].name]: result } };
    }
    if (Array.isArray(result)) {
      if (result.length !== this.objectives.length) throw new RangeError(`Expected ${this.objectives.length} objective values for the objective's result but received ${result.length}`);
      return { values: result, metrics: Object.fromEntries(this.objectives.map((o, i) => [o.name, result[i]])) };
    }
    if (result && typeof result === 'object') {
      const values = this.objectives.map((o) => {
        const v = (result as Record<string, number>)[o.name];
        if (typeof v !== 'number') throw new RangeError(`Expected a number named '${o.name}' in the objective's result but received keys ${Object.keys(result).join(', ')}`);
        return v;
      });
      return { values, metrics: { ...result } };
    }
    throw new TypeError(`Expected a number, an array or an object of numbers for the objective's result but received ${typeof result}`);
  }

  /** A view for trial n: finished trials numbered <= n - W as they are, later ones as running. */
  #view(n: number, W: number, deterministic: boolean): Trial[] {
    const all = this.#replay.trials.filter((t) => t && t.number < n && t.state !== 'stale');
    if (!deterministic) return all;
    return all.map((t) => (t.number <= n - W ? t : { ...t, state: 'running' as const, values: undefined, intermediate: new Map() }));
  }

  /** Creates trial n under the lock, or returns null when the space or sampler is used up. */
  async #createTrial(W: number, deterministic: boolean, sampler: Sampler): Promise<Trial | null | 'wait'> {
    return this.storage.withLock(async () => {
      await this.sync();
      const n = this.#replay.trials.length;
      if (deterministic && this.#replay.trials.some((t) => t && t.number <= n - W && !isFinished(t))) return 'wait';
      const taken = new Set(this.#replay.trials.filter(Boolean).map((t) => this.space.key(t.params)));
      const size = this.space.size();
      if (taken.size >= size) return null;
      const view = this.#view(n, W, deterministic);
      let params: Params | null = null;
      for (let attempt = 0; attempt < 10; attempt++) {
        const rng = nt.createRng(deriveSeed(this.seed, n, 0x5a3, attempt));
        const p = await sampler.suggest({ space: this.space, number: n, rng, trials: view, directions: this.directions });
        if (p === null) return null;
        const valid = this.space.validate(p);
        if (!taken.has(this.space.key(valid))) {
          params = valid;
          break;
        }
      }
      if (!params) params = this.#fresh(taken, nt.createRng(deriveSeed(this.seed, n, 0xf4e5)));
      if (!params) return null;
      await this.#append([{ op: 'create', number: n, params, seed: deriveSeed(this.seed, n), owner: this.owner, ts: Date.now() }]);
      return this.#replay.trials[n];
    });
  }

  /** A configuration not yet tried: random draws, then (finite spaces) the untried ones by index. */
  #fresh(taken: Set<string>, rng: nt.Rng): Params | null {
    for (let i = 0; i < 100; i++) {
      const p = this.space.sample(rng);
      if (!taken.has(this.space.key(p))) return p;
    }
    const size = this.space.size();
    if (!Number.isFinite(size)) return null;
    const start = Math.floor(rng.next() * size);
    for (let i = 0; i < size; i++) {
      const p = this.space.unrank((start + i) % size);
      if (!taken.has(this.space.key(p))) return p;
    }
    return null;
  }

  async #claimStale(): Promise<Trial | null> {
    return this.storage.withLock(async () => {
      await this.sync();
      const t = this.#replay.trials.find((x) => x && x.state === 'stale');
      if (!t) return null;
      await this.#append([{ op: 'retry', number: t.number, attempt: t.attempt + 1, owner: this.owner, ts: Date.now() }]);
      return this.#replay.trials[t.number];
    });
  }

  /**
   * Runs trials until `trials` exist, the time budget is spent, the space is used up, or the signal aborts.
   * @throws Error when the executor cannot start; trial errors are recorded, never thrown.
   * @example const r = await study.optimize({ trials: 50, executor: workerExecutor({ objective: { module, exportName } }) });
   */
  async optimize(opts: OptimizeOptions = {}): Promise<OptimizeResult> {
    const executor = opts.executor ?? (this.#objective ? new InlineExecutor(this.#objective) : null);
    if (!executor) throw new TypeError('Expected an executor or a study objective for optimize but received neither');
    const W = opts.parallelism ?? executor.concurrency;
    const deterministic = opts.deterministic ?? true;
    const target = opts.trials ?? Infinity;
    const start = Date.now();
    const deadline = opts.timeBudgetMs !== undefined ? start + opts.timeBudgetMs : Infinity;
    const stopAll = new AbortController();
    // Every running trial listens to it (a dozen or more in flight is normal, not a leak).
    setMaxListeners(0, stopAll.signal);
    const onAbort = (): void => stopAll.abort();
    opts.signal?.addEventListener('abort', onAbort);
    const budgetTimer = Number.isFinite(deadline) ? setTimeout(() => stopAll.abort(), Math.max(0, deadline - Date.now())) : null;
    const running = new Map<number, Promise<void>>();
    const stopped = abortPromise(stopAll.signal);
    let reason: OptimizeResult['reason'] = 'trials';
    let exhausted = false;
    const progress = (): void => {
      if (!opts.onProgress) return;
      const ts = this.#replay.trials.filter(Boolean);
      opts.onProgress({
        done: ts.filter((t) => t.state === 'complete').length,
        running: ts.filter((t) => t.state === 'running').length,
        pruned: ts.filter((t) => t.state === 'pruned').length,
        failed: ts.filter((t) => t.state === 'failed').length,
        best: this.best,
        elapsedMs: Date.now() - start,
        timeLeftMs: Number.isFinite(deadline) ? Math.max(0, deadline - Date.now()) : undefined,
      });
    };
    try {
      await this.markStale();
      for (;;) {
        if (stopAll.signal.aborted) {
          reason = opts.signal?.aborted ? 'aborted' : 'time';
          break;
        }
        if (running.size >= executor.concurrency) {
          await Promise.race([...running.values(), stopped]);
          continue;
        }
        let trial: Trial | null | 'wait' = await this.#claimStale();
        if (!trial) {
          const count = this.#replay.trials.length;
          if (count >= target || exhausted) {
            if (running.size === 0) {
              if (exhausted) reason = 'exhausted';
              break;
            }
            await Promise.race([...running.values(), stopped]);
            continue;
          }
          trial = await this.#createTrial(W, deterministic, opts.sampler ?? this.sampler);
          if (trial === null) {
            exhausted = true;
            continue;
          }
          if (trial === 'wait') {
            if (running.size === 0) await new Promise((r) => setTimeout(r, 50));
            else await Promise.race([...running.values(), stopped]);
            continue;
          }
        }
        const t = trial;
        const p = this.#runTrial(t, executor, W, deterministic, stopAll.signal, opts).finally(() => {
          running.delete(t.number);
          progress();
          opts.onTrial?.(this.#replay.trials[t.number]);
        });
        running.set(t.number, p);
        progress();
      }
      await Promise.all(running.values());
    } finally {
      if (budgetTimer) clearTimeout(budgetTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (!opts.executor) await executor.close();
    }
    await this.sync();
    return { trials: this.trials, best: this.best, paretoFront: this.paretoFront(), reason };
  }

  async #runTrial(t: Trial, executor: Executor, W: number, deterministic: boolean, stop: AbortSignal, opts: OptimizeOptions): Promise<void> {
    const { number, attempt } = t;
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    stop.addEventListener('abort', onStop);
    const beat = setInterval(() => {
      void this.storage.append([{ op: 'heartbeat', number, attempt, ts: Date.now() }]).catch(() => undefined);
    }, this.#heartbeatMs);
    beat.unref?.();
    let timedOut = false;
    const timer = opts.trialTimeoutMs !== undefined ? setTimeout(() => ((timedOut = true), ac.abort()), opts.trialTimeoutMs) : null;
    timer?.unref?.();
    const modelDir = this.storage.dir ? path.join(this.storage.dir, 'trials', `${number}-${attempt}`) : undefined;
    const hooks = {
      signal: ac.signal,
      report: async (step: number, value: number): Promise<boolean> => {
        if (ac.signal.aborted) return true;
        await this.#append([{ op: 'report', number, attempt, step, value }]);
        const cur = this.#replay.trials[number];
        const others = this.#replay.trials.filter((o) => o && o.number !== number && o.state !== 'stale' && (!deterministic || (o.number <= number - W && isFinished(o))));
        return this.pruner.shouldPrune({ trial: cur, step, others, direction: this.directions[0], maxSteps: opts.maxSteps });
      },
    };
    let rec: StudyRecord;
    try {
      const outcome = await Promise.race([executor.run({ number, attempt, params: t.params, seed: t.seed, modelDir }, hooks), abortPromise(ac.signal)]);
      if (outcome === ABORTED) throw ac.signal.reason ?? new Error('aborted');
      if (outcome.pruned) {
        rec = { op: 'finish', number, attempt, state: 'pruned', ts: Date.now() };
      } else {
        const { values, metrics } = this.#values(outcome.result);
        const bad = values.findIndex((v) => !Number.isFinite(v));
        rec =
          bad >= 0
            ? { op: 'finish', number, attempt, state: 'failed', error: `diverged: ${this.objectives[bad].name} = ${values[bad]}`, metrics, ts: Date.now() }
            : { op: 'finish', number, attempt, state: 'complete', values, metrics, ts: Date.now() };
      }
    } catch (e) {
      if (timedOut) rec = { op: 'finish', number, attempt, state: 'failed', error: `timed out after ${opts.trialTimeoutMs} ms`, ts: Date.now() };
      else if (stop.aborted) rec = { op: 'stale', number, attempt, reason: opts.signal?.aborted ? 'study aborted' : 'time budget reached', ts: Date.now() };
      else rec = { op: 'finish', number, attempt, state: 'failed', error: String((e as Error)?.stack ?? e).split('\n').slice(0, 3).join(' | '), ts: Date.now() };
    } finally {
      clearInterval(beat);
      if (timer) clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
    await this.#append([rec]);
    if (modelDir) await this.#keepBestModel(number, modelDir);
  }

  /** Moves a finished trial's saved model to best-model when it is the best; removes it otherwise. */
  async #keepBestModel(number: number, modelDir: string): Promise<void> {
    const best = this.best;
    const dir = this.storage.dir!;
    try {
      if (best && best.number === number && fs.existsSync(modelDir) && this.#bestSaved !== number) {
        const target = path.join(dir, 'best-model');
        const old = `${target}.old-${randomBytes(3).toString('hex')}`;
        if (fs.existsSync(target)) fs.renameSync(target, old);
        fs.renameSync(modelDir, target);
        fs.writeFileSync(path.join(target, 'trial.json'), JSON.stringify({ number, params: best.params, values: best.values, metrics: best.metrics }, null, 2));
        fs.rmSync(old, { recursive: true, force: true });
        this.#bestSaved = number;
      } else {
        fs.rmSync(modelDir, { recursive: true, force: true });
      }
    } catch (e) {
      this.#log(`could not keep the model of trial ${number}: ${(e as Error).message}`);
    }
  }
}

const ABORTED = Symbol('aborted');
function abortPromise(signal: AbortSignal): Promise<typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(ABORTED), { once: true }));
}

export function bestOf(trials: readonly Trial[], directions: readonly Direction[]): Trial | undefined {
  const sg = directions[0] === 'minimize' ? 1 : -1;
  let best: Trial | undefined;
  for (const t of trials) {
    if (!t || t.state !== 'complete' || !t.values) continue;
    if (!best || sg * t.values[0] < sg * best.values![0]) best = t;
  }
  return best;
}

/**
 * Opens (or creates) a study. With `dir`, the study lives in that folder and an existing one is
 * resumed: the log tells "resumed: N trials, M stale retried".
 * @throws NodetrainError ERR_NT_STUDY_MISMATCH when the folder holds a study of another space or
 *   objective (unless allowSpaceChange); RangeError for invalid options.
 * @example const study = await createStudy({ space, objective, objectives: { name: 'accuracy', direction: 'maximize' }, dir: './study' });
 */
export async function createStudy(opts: StudyOptions): Promise<Study> {
  if (!opts || typeof opts !== 'object') throw new TypeError('Expected an options object for createStudy but received ' + typeof opts);
  const space = opts.space instanceof Space ? opts.space : new Space(opts.space);
  const objectives = opts.objectives === undefined ? [{ name: 'value', direction: 'minimize' as const }] : Array.isArray(opts.objectives) ? opts.objectives : [opts.objectives];
  if (objectives.length === 0) throw new RangeError('Expected at least one objective for objectives but received an empty array');
  for (const [i, o] of objectives.entries()) {
    if (o.direction !== 'minimize' && o.direction !== 'maximize') throw new RangeError(`Expected 'minimize' or 'maximize' for objectives[${i}].direction but received ${JSON.stringify(o.direction)}`);
  }
  const seed = opts.seed ?? 0;
  const objectiveId = opts.objectiveId ?? (opts.objective ? createHash('sha256').update(String(opts.objective)).digest('hex').slice(0, 16) : 'objective');
  const spaceHash = space.hash();
  const hash = createHash('sha256').update(canonicalJson({ space: space.toJSON(), objectiveId, objectives })).digest('hex');
  const storage = opts.storage ?? (opts.dir ? new JournalStorage(opts.dir) : new MemoryStorage());
  const log = opts.log ?? ((): void => undefined);
  const study = new Study({
    space,
    objectives,
    storage,
    sampler: opts.sampler ?? new RandomSampler(),
    pruner: opts.pruner ?? new NopPruner(),
    seed,
    objective: opts.objective,
    heartbeatMs: opts.heartbeatMs ?? 10_000,
    staleAfterMs: opts.staleAfterMs ?? 60_000,
    log,
  });
  await storage.withLock(async () => {
    await study.sync();
    const h = study.header;
    if (!h) {
      await storage.append([{ op: 'study', version: 1, hash, spaceHash, objectiveId, objectives, seed, createdAt: Date.now() }]);
      await study.sync();
      return;
    }
    if (h.hash !== hash) {
      const what = h.spaceHash !== spaceHash ? 'search space' : 'objective';
      if (!opts.allowSpaceChange) {
        throw new nt.NodetrainError(
          'ERR_NT_STUDY_MISMATCH',
          `Expected the ${what} of the study${storage.dir ? ` in ${storage.dir}` : ''} (hash ${h.hash.slice(0, 12)}) but received a different one (hash ${hash.slice(0, 12)}); use another folder, or pass allowSpaceChange to continue it anyway`,
        );
      }
      log(`the ${what} changed (hash ${h.hash.slice(0, 12)} -> ${hash.slice(0, 12)}); continuing as asked`);
      await storage.append([{ op: 'rebind', hash, spaceHash, objectiveId, ts: Date.now() }]);
    }
    if (seed !== h.seed) log(`the study was created with seed ${h.seed}; using it`);
  });
  if (study.header && study.header.seed !== seed) study.seed = study.header.seed;
  const existing = study.trials.length;
  if (existing > 0) {
    await study.markStale();
    const toRetry = study.trials.filter((t) => t.state === 'stale').length;
    study.resumeInfo = { resumed: true, trials: existing, stale: toRetry };
    log(`resumed: ${existing} trials, ${toRetry} stale retried`);
  }
  return study;
}
