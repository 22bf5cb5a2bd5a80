/**
 * Runs trials in worker_threads. Functions cannot cross threads, so a worker loads its objective
 * by module path and export name, or runs the built-in MLP objective on a data spec. Each worker
 * has a V8 heap budget (resourceLimits) and is replaced after a crash, a timeout, an abort or
 * `recycleAfter` trials, so memory does not creep across trials.
 *
 * Threads: the native kernel pool is shared by the whole process; each worker sets the per-call
 * thread count to threadsPerWorker, so W workers x T threads use about W x T cores (default 2 x 1).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';

import * as nt from '../api';
import type { MlpObjectiveSpec } from '../mlp';
import type { Executor, TrialHooks, TrialOutcome, TrialTask } from '../objective';

export type WorkerObjective = { module: string; exportName?: string } | { builtin: 'mlp'; spec: MlpObjectiveSpec };

export interface WorkerExecutorOptions {
  objective: WorkerObjective;
  /** Worker threads (default 2). */
  workers?: number;
  /** Kernel threads per worker (default 1). */
  threadsPerWorker?: number;
  /** V8 old-generation budget per worker in MiB (default 1024). */
  maxOldGenerationSizeMb?: number;
  /** Replace a worker after this many trials (default 0: never). */
  recycleAfter?: number;
  /** The compiled worker script (default: worker-entry.js beside this file). */
  workerScript?: string;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  trials: number;
}

export class WorkerExecutor implements Executor {
  readonly concurrency: number;
  readonly #opts: Required<Omit<WorkerExecutorOptions, 'workerScript'>> & { workerScript: string };
  readonly #slots: Slot[] = [];
  readonly #prevThreads: number;
  #closed = false;

  constructor(opts: WorkerExecutorOptions) {
    const o = opts.objective as Record<string, unknown>;
    if (!o || (typeof o.module !== 'string' && o.builtin !== 'mlp')) throw new TypeError('Expected {module, exportName} or {builtin: "mlp", spec} for objective but received ' + JSON.stringify(o));
    if (typeof o.module === 'string' && !path.isAbsolute(o.module)) throw new RangeError(`Expected an absolute module path for objective.module but received ${JSON.stringify(o.module)}`);
    const script = opts.workerScript ?? path.join(__dirname, 'worker-entry.js');
    if (!fs.existsSync(script)) throw new RangeError(`Expected a compiled worker script for workerScript but received ${JSON.stringify(script)} (missing: run npm run build:ts, or pass workerScript)`);
    this.#opts = { objective: opts.objective, workers: opts.workers ?? 2, threadsPerWorker: opts.threadsPerWorker ?? 1, maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 1024, recycleAfter: opts.recycleAfter ?? 0, workerScript: script };
    for (const k of ['workers', 'threadsPerWorker'] as const) {
      const v = this.#opts[k];
      if (!Number.isInteger(v) || v < 1 || v > 256) throw new RangeError(`Expected an integer in [1, 256] for ${k} but received ${v}`);
    }
    this.concurrency = this.#opts.workers;
    this.#prevThreads = nt.getNumThreads();
  }

  #spawn(): Slot {
    const worker = new Worker(this.#opts.workerScript, {
      workerData: { objective: this.#opts.objective, threads: this.#opts.threadsPerWorker },
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.maxOldGenerationSizeMb },
    });
    worker.unref();
    const slot = { worker, busy: false, trials: 0 };
    this.#slots.push(slot);
    return slot;
  }

  #drop(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    void slot.worker.terminate();
  }

  run(task: TrialTask, hooks: TrialHooks): Promise<TrialOutcome> {
    if (this.#closed) return Promise.reject(new Error('Expected an open executor for run but received a closed one'));
    const slot = this.#slots.find((s) => !s.busy) ?? this.#spawn();
    slot.busy = true;
    const w = slot.worker;
    return new Promise<TrialOutcome>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void, keep: boolean): void => {
        if (settled) return;
        settled = true;
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        hooks.signal.removeEventListener('abort', onAbort);
        slot.busy = false;
        slot.trials++;
        if (!keep || (this.#opts.recycleAfter > 0 && slot.trials >= this.#opts.recycleAfter)) this.#drop(slot);
        fn();
      };
      const onMessage = (m: { type: string; id?: number; step?: number; value?: number; result?: unknown; pruned?: boolean; message?: string; stack?: string }): void => {
        if (m.type === 'report') {
          hooks.report(m.step!, m.value!).then(
            (prune) => w.postMessage({ type: 'prune', id: m.id, prune }),
            () => w.postMessage({ type: 'prune', id: m.id, prune: true }),
          );
        } else if (m.type === 'done') finish(() => resolve({ result: m.result as TrialOutcome['result'], pruned: !!m.pruned }), true);
        else if (m.type === 'error') {
          if (m.pruned) finish(() => resolve({ result: NaN, pruned: true }), true);
          else finish(() => reject(Object.assign(new Error(m.message), { stack: m.stack })), true);
        }
      };
      const onError = (e: Error): void => finish(() => reject(e), false);
      const onExit = (code: number): void => finish(() => reject(new Error(`Expected the trial's worker to keep running but received an exit with code ${code}`)), false);
      // A worker cannot be interrupted inside native training: stop it for good and start a fresh one later.
      const onAbort = (): void => finish(() => reject(Object.assign(new Error('trial aborted'), { name: 'AbortError' })), false);
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      if (hooks.signal.aborted) return onAbort();
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      w.postMessage({ type: 'run', task });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.splice(0).map((s) => s.worker.terminate()));
    nt.setNumThreads(this.#prevThreads);
  }
}

/** @example await study.optimize({ executor: workerExecutor({ objective: { module: require.resolve('./objective'), exportName: 'objective' } }) }) */
export function workerExecutor(opts: WorkerExecutorOptions): WorkerExecutor {
  return new WorkerExecutor(opts);
}
