/**
 * Distributed trials on Redis with BullMQ. The coordinator (a Study running optimize() with a
 * RedisExecutor) asks the sampler for parameters and enqueues one job per trial, with the job id
 * `trial-<number>`; worker processes on any host (startRedisWorker, `nodetrain worker`) run them.
 *
 * - Reports: a worker sends each intermediate value as the job's progress; the coordinator appends it
 *   to the study and runs the pruner there (so pruning sees exactly what a local study sees), then
 *   pushes the decision to a Redis list the worker waits on (pruneWaitMs at most; without an answer,
 *   e.g. while the coordinator restarts, the trial goes on unpruned).
 * - Liveness: a worker holds BullMQ's lock on its job and renews it (lockMs). A worker that dies
 *   loses the lock; BullMQ's stalled-job check puts the job back in the queue, and another worker
 *   runs it again with the same parameters and seed, up to maxStalls times; then the job fails and
 *   the trial is recorded failed. The coordinator renews the trial's heartbeat in the study log while
 *   it waits (the journal's heartbeats and staleAfterMs), so a dead coordinator's trials turn stale.
 * - Coordinator restart: a stale trial is retried by the next coordinator; its job id is the same, so
 *   a job still queued, running or already finished is awaited instead of being run again. Workers
 *   also write each report to the job's log, and the coordinator replays the reports it missed (and
 *   answers the one a worker may be waiting on).
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis as RedisClient } from 'ioredis';

import type { Executor, ObjectiveResult, TrialHooks, TrialOutcome, TrialTask } from '../objective';
import { RedisConnectOptions, checkStudyName, connectRedis, studyPrefix } from '../storage/redis';
import type { WorkerObjective } from './worker';

/** What the coordinator publishes for workers in `nt:study:<name>:config`. */
export interface DistributedConfig {
  version: 1;
  objective: WorkerObjective;
  queue: string;
  lockMs: number;
  maxStalls: number;
  pruneWaitMs: number;
}

export interface RedisExecutorOptions extends RedisConnectOptions {
  /** redis:// or rediss:// URL (user, password and database as ioredis reads them). */
  url: string;
  /** The study name (the same as the storage's). */
  study: string;
  /** What workers run: a module path on the worker hosts, or the built-in MLP objective. */
  objective: WorkerObjective;
  /** Trials in flight at once (default 2); the study's parallelism W by default. */
  concurrency?: number;
  /** Job lock of a worker; a worker silent this long is taken as dead (default 30 s). */
  lockMs?: number;
  /** Times a job is rerun after its worker died before it is failed (default 2). */
  maxStalls?: number;
  /** How long a worker waits for a pruning decision (default 60 s). */
  pruneWaitMs?: number;
}

export const QUEUE_PREFIX = 'nt';
export const queueName = (study: string): string => `study-${study}`;
export const decisionKey = (study: string, jobId: string, run: string, step: number): string => `${studyPrefix(study)}decide:${jobId}:${run}:${step}`;

/** JSON has no NaN or infinities: they travel as strings. */
export function encodeResult(r: ObjectiveResult): unknown {
  const enc = (v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
  if (Array.isArray(r)) return r.map(enc);
  if (r && typeof r === 'object') return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, enc(v)]));
  return enc(r);
}

export function decodeResult(r: unknown): ObjectiveResult {
  const dec = (v: unknown): unknown => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v === null ? NaN : v);
  if (Array.isArray(r)) return r.map(dec) as number[];
  if (r && typeof r === 'object') return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, dec(v)])) as Record<string, number>;
  return dec(r) as number;
}

interface Progress {
  step: number;
  value: unknown;
  run: string;
}

export class RedisExecutor implements Executor {
  readonly concurrency: number;
  readonly config: DistributedConfig;
  readonly study: string;
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #client: RedisClient;
  readonly #conns: RedisClient[];
  readonly #reporters = new Map<string, (p: Progress) => void>();
  #closed = false;

  /** @internal use redisExecutor() */
  constructor(o: { study: string; concurrency: number; config: DistributedConfig; queue: Queue; events: QueueEvents; client: RedisClient; conns: RedisClient[] }) {
    this.study = o.study;
    this.concurrency = o.concurrency;
    this.config = o.config;
    this.#queue = o.queue;
    this.#events = o.events;
    this.#client = o.client;
    this.#conns = o.conns;
    this.#events.on('progress', ({ jobId, data }: { jobId: string; data: unknown }) => {
      const p = (typeof data === 'string' ? JSON.parse(data) : data) as Progress;
      this.#reporters.get(jobId)?.(p);
    });
  }

  async run(task: TrialTask, hooks: TrialHooks): Promise<TrialOutcome> {
    if (this.#closed) throw new Error('Expected an open executor for run but received a closed one');
    const jobId = `trial-${task.number}`;
    // Reports of one run arrive in order (the worker waits for each decision); keep them in order here too.
    let chain = Promise.resolve();
    const seen = new Set<string>();
    const handle = (p: Progress): void => {
      if (!p || typeof p.step !== 'number' || seen.has(`${p.run}:${p.step}`)) return;
      seen.add(`${p.run}:${p.step}`);
      chain = chain.then(async () => {
        let prune = false;
        try {
          prune = await hooks.report(p.step, decodeResult(p.value) as number);
        } catch {
          prune = false;
        }
        const key = decisionKey(this.study, jobId, p.run, p.step);
        await this.#client.multi().lpush(key, prune ? '1' : '0').pexpire(key, this.config.pruneWaitMs * 2 + 60_000).exec();
      }).catch(() => undefined);
    };
    this.#reporters.set(jobId, handle);
    try {
      // An existing job of this trial (a restarted coordinator) is awaited, not added again.
      const job: Job = await this.#queue.add('trial', { task: { number: task.number, attempt: task.attempt, params: task.params, seed: task.seed } }, { jobId, attempts: 1, removeOnComplete: false, removeOnFail: false });
      // Reports made while no coordinator listened (a restart) are in the job's log: replay them.
      const { logs } = await this.#queue.getJobLogs(jobId);
      for (const l of logs) {
        try {
          handle(JSON.parse(l) as Progress);
        } catch {
          /* not a report */
        }
      }
      let out: { result: unknown; pruned: boolean };
      try {
        out = (await job.waitUntilFinished(this.#events)) as { result: unknown; pruned: boolean };
      } finally {
        for (let c = chain; ; c = chain) {
          await c;
          if (c === chain) break;
        }
      }
      return { result: decodeResult(out.result), pruned: !!out.pruned };
    } finally {
      this.#reporters.delete(jobId);
    }
  }

  /** Jobs by state (waiting, active, completed, failed, delayed). */
  async counts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  }

  /** Removes the study's queue and jobs (the study's records stay). */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#events.close(), this.#queue.close()]);
    await Promise.allSettled(this.#conns.map((c) => c.quit()));
  }
}

/**
 * Connects the coordinator's queue and publishes what workers run.
 * @throws NodetrainError ERR_NT_UNAVAILABLE when Redis cannot be reached (bounded retries).
 * @example const ex = await redisExecutor({ url, study: 'mlp', objective: { builtin: 'mlp', spec } }); await study.optimize({ trials: 40, executor: ex });
 */
export async function redisExecutor(opts: RedisExecutorOptions): Promise<RedisExecutor> {
  const study = checkStudyName(opts.study);
  const o = opts.objective as Record<string, unknown>;
  if (!o || (typeof o.module !== 'string' && o.builtin !== 'mlp')) throw new TypeError('Expected {module, exportName} or {builtin: "mlp", spec} for objective but received ' + JSON.stringify(o));
  const concurrency = opts.concurrency ?? 2;
  const int = (name: string, v: number, min: number): number => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`Expected an integer >= ${min} for ${name} but received ${v}`);
    return v;
  };
  int('concurrency', concurrency, 1);
  const config: DistributedConfig = {
    version: 1,
    objective: opts.objective,
    queue: queueName(study),
    lockMs: int('lockMs', opts.lockMs ?? 30_000, 100),
    maxStalls: int('maxStalls', opts.maxStalls ?? 2, 0),
    pruneWaitMs: int('pruneWaitMs', opts.pruneWaitMs ?? 60_000, 1),
  };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Queue: Q, QueueEvents: QE } = require('bullmq') as typeof import('bullmq');
  const client = await connectRedis(opts.url, opts);
  const conns = [client];
  try {
    const qc = await connectRedis(opts.url, opts, { maxRetriesPerRequest: null });
    conns.push(qc);
    const ec = await connectRedis(opts.url, opts, { maxRetriesPerRequest: null });
    conns.push(ec);
    await client.set(`${studyPrefix(study)}config`, JSON.stringify(config));
    const queue = new Q(config.queue, { connection: qc, prefix: QUEUE_PREFIX });
    const events = new QE(config.queue, { connection: ec, prefix: QUEUE_PREFIX });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new RedisExecutor({ study, concurrency, config, queue, events, client, conns });
  } catch (e) {
    conns.forEach((c) => c.disconnect());
    throw e;
  }
}
