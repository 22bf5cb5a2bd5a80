/**
 * A worker process of a distributed study: attaches to a study by name, reads what to run from the
 * study's config in Redis, and runs `concurrency` trials at a time from the study's BullMQ queue in
 * this process (training itself runs off the event loop, in fit()'s native worker). A model the
 * objective saves in its modelDir is packed into Redis, where the study keeps the best one.
 *
 * Shutdown: close() lets the running trials finish; close(true) stops them and puts their jobs back
 * in the queue at once (another worker reruns them with the same seed).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { Job, Worker } from 'bullmq';
import type { Redis as RedisClient } from 'ioredis';

import * as nt from '../api';
import { mlpObjective } from '../mlp';
import { Objective, TrialPruned, TrialTask, trialContext } from '../objective';
import { RedisConnectOptions, RedisStorage, checkStudyName, connectRedis, packDir } from '../storage/redis';
import { DistributedConfig, QUEUE_PREFIX, decisionKey, encodeResult } from './redis';
import type { WorkerObjective } from './worker';

export interface RedisWorkerOptions extends RedisConnectOptions {
  url: string;
  study: string;
  /** Trials at once in this process (default 1). */
  concurrency?: number;
  /** Kernel threads (default: unchanged). */
  threads?: number;
  /** How long to wait for a coordinator to publish the study (default 10 min). */
  waitMs?: number;
  /** Trial start/end lines (default: none). */
  log?: (line: string) => void;
}

export function loadWorkerObjective(ref: WorkerObjective): Objective {
  if ('builtin' in ref) return mlpObjective(ref.spec);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(ref.module) as Record<string, unknown>;
  const fn = mod[ref.exportName ?? 'default'] ?? (ref.exportName ? undefined : mod);
  if (typeof fn !== 'function') throw new TypeError(`Expected a function exported as ${ref.exportName ?? 'default'} from ${ref.module} but received ${typeof fn}`);
  return fn as Objective;
}

const SHUTDOWN = Symbol('shutdown');

export class RedisWorker {
  readonly study: string;
  readonly config: DistributedConfig;
  /** Trials this process finished (complete, pruned or failed). */
  processed = 0;
  /** Resolves once the worker has stopped. */
  readonly closed: Promise<void>;
  readonly #worker: Worker;
  readonly #storage: RedisStorage;
  readonly #conns: RedisClient[];
  readonly #active = new Map<string, { stop: () => void }>();
  #closing: Promise<void> | null = null;
  #resolveClosed!: () => void;

  /** @internal use startRedisWorker() */
  constructor(o: { study: string; config: DistributedConfig; storage: RedisStorage; conns: RedisClient[]; objective: Objective; concurrency: number; url: string; connect: RedisConnectOptions; log: (l: string) => void }) {
    this.study = o.study;
    this.config = o.config;
    this.#storage = o.storage;
    this.#conns = o.conns;
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Worker: W, DelayedError } = require('bullmq') as typeof import('bullmq');
    const processor = async (job: Job, token?: string): Promise<unknown> => {
      const task = (job.data as { task: TrialTask }).task;
      const run = randomBytes(6).toString('hex');
      const modelDir = fs.mkdtempSync(path.join(os.tmpdir(), `nt-trial-${task.number}-`));
      const ac = new AbortController();
      let shutdown = false;
      let blocking: RedisClient | null = null;
      let stopped!: (s: typeof SHUTDOWN) => void;
      const stopPromise = new Promise<typeof SHUTDOWN>((r) => (stopped = r));
      this.#active.set(job.id!, {
        stop: () => {
          shutdown = true;
          ac.abort();
          stopped(SHUTDOWN);
        },
      });
      o.log(`trial ${task.number} started (job ${job.id}, run ${job.attemptsStarted ?? 1})`);
      try {
        const ctx = trialContext({ ...task, modelDir }, {
          signal: ac.signal,
          report: async (step, value) => {
            if (!blocking) {
              blocking = o.conns[0].duplicate();
              blocking.on('error', () => undefined);
            }
            const p = { step, value: encodeResult(value), run };
            await job.log(JSON.stringify(p));
            await job.updateProgress(p);
            const r = await blocking.blpop(decisionKey(this.study, job.id!, run, step), Math.max(0.01, this.config.pruneWaitMs / 1000));
            return r ? r[1] === '1' : false;
          },
        });
        let outcome: { result: unknown; pruned: boolean };
        try {
          const res = await Promise.race([Promise.resolve().then(() => o.objective(ctx)), stopPromise]);
          if (res === SHUTDOWN) throw new Error('worker shutting down');
          outcome = { result: encodeResult(res), pruned: ctx.pruned };
        } catch (e) {
          if (shutdown) {
            // Back to the queue now, without counting as a stall.
            await job.moveToDelayed(Date.now(), token);
            o.log(`trial ${task.number} requeued`);
            throw new DelayedError();
          }
          if (e instanceof TrialPruned || (ctx.pruned && (e as Error)?.name === 'AbortError')) outcome = { result: 'NaN', pruned: true };
          else throw e;
        }
        if (!outcome.pruned && fs.readdirSync(modelDir).length > 0) await this.#storage.putModel(task.number, packDir(modelDir));
        this.processed++;
        o.log(`trial ${task.number} ${outcome.pruned ? 'pruned' : 'done'}`);
        return outcome;
      } finally {
        this.#active.delete(job.id!);
        (blocking as RedisClient | null)?.disconnect();
        fs.rmSync(modelDir, { recursive: true, force: true });
      }
    };
    this.#worker = new W(o.config.queue, processor, {
      connection: o.conns[1],
      prefix: QUEUE_PREFIX,
      concurrency: o.concurrency,
      lockDuration: o.config.lockMs,
      stalledInterval: Math.max(100, Math.floor(o.config.lockMs / 2)),
      maxStalledCount: o.config.maxStalls,
    });
    this.#worker.on('error', (e) => o.log(`queue error: ${e.message}`));
  }

  /** Trials running now. */
  get running(): number {
    return this.#active.size;
  }

  /**
   * Stops taking trials. Running ones finish first, unless `requeue` (then they stop now and their
   * jobs go back to the queue). A second close(true) during a graceful close requeues too.
   */
  close(requeue = false): Promise<void> {
    if (requeue) for (const a of this.#active.values()) a.stop();
    if (!this.#closing) {
      this.#closing = (async () => {
        await this.#worker.close();
        await this.#storage.close();
        await Promise.allSettled(this.#conns.map((c) => c.quit()));
        this.#resolveClosed();
      })();
    }
    return this.#closing;
  }
}

/**
 * Starts a worker for the study `study` in Redis (waits up to waitMs for a coordinator to publish it).
 * @throws NodetrainError ERR_NT_UNAVAILABLE when Redis cannot be reached; ERR_NT_NO_STUDY when no
 *   coordinator published the study in time.
 * @example const w = await startRedisWorker({ url: 'redis://10.0.0.5:6379', study: 'mlp', concurrency: 1 }); await w.closed;
 */
export async function startRedisWorker(opts: RedisWorkerOptions): Promise<RedisWorker> {
  const study = checkStudyName(opts.study);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`Expected a positive integer for concurrency but received ${concurrency}`);
  const log = opts.log ?? ((): void => undefined);
  const client = await connectRedis(opts.url, opts);
  const conns: RedisClient[] = [client];
  try {
    const storage = new RedisStorage(await connectRedis(opts.url, opts), study);
    const waitMs = opts.waitMs ?? 600_000;
    const start = Date.now();
    let config = await storage.getConfig<DistributedConfig>();
    if (!config) log(`waiting for a coordinator to start study ${study}`);
    while (!config) {
      if (Date.now() - start > waitMs) {
        await storage.close();
        throw new nt.NodetrainError('ERR_NT_NO_STUDY', `Expected a study named ${study} in Redis within ${waitMs} ms but received none (start the coordinator: nodetrain search --redis URL --study ${study})`);
      }
      await new Promise((r) => setTimeout(r, 250));
      config = await storage.getConfig<DistributedConfig>();
    }
    if (opts.threads !== undefined) nt.setNumThreads(opts.threads);
    const objective = loadWorkerObjective(config.objective);
    conns.push(await connectRedis(opts.url, opts, { maxRetriesPerRequest: null }));
    return new RedisWorker({ study, config, storage, conns, objective, concurrency, url: opts.url, connect: opts, log });
  } catch (e) {
    conns.forEach((c) => c.disconnect());
    throw e;
  }
}
