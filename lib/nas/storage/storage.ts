/**
 * Study storage: an append-only log of records (DESIGN rule 14). The state of every trial is derived
 * by replaying the records (replay()), so a crash loses at most the record being written and several
 * processes can share one study. A storage only appends, reads and locks; a Redis- or SQL-backed
 * one implements the same three methods.
 */
import type { Params } from '../space';
import type { ObjectiveSpec, Trial, TrialState } from '../types';

/** The first record of a study: what it optimises and the hash that ties it to its space and objective. */
export interface StudyHeader {
  version: 1;
  hash: string;
  spaceHash: string;
  objectiveId: string;
  objectives: ObjectiveSpec[];
  seed: number;
  createdAt: number;
}

export type StudyRecord =
  | ({ op: 'study' } & StudyHeader)
  | { op: 'rebind'; hash: string; spaceHash: string; objectiveId: string; ts: number }
  | { op: 'create'; number: number; params: Params; seed: number; owner: string; ts: number }
  | { op: 'retry'; number: number; attempt: number; owner: string; ts: number }
  | { op: 'report'; number: number; attempt: number; step: number; value: number }
  | { op: 'heartbeat'; number: number; attempt: number; ts: number }
  | { op: 'finish'; number: number; attempt: number; state: Exclude<TrialState, 'running' | 'stale'>; values?: number[]; metrics?: Record<string, number>; error?: string; ts: number }
  | { op: 'stale'; number: number; attempt: number; reason: string; ts: number }
  | ({ op: 'oneshot' } & OneShotScores);

/**
 * The one-shot scores of the candidates a one-shot search sends to be retrained (written before
 * they are retrained), so a report can set them against the retrained results: the trial of an
 * entry is the study's trial with the same parameters (a candidate the study already trained is not
 * trained again).
 */
export interface OneShotScores {
  /** The strategy's name. */
  strategy: string;
  /** How many candidates were scored in all. */
  scored: number;
  /** Scores of the candidates to retrain: the top-scored ones and a held-out random sample. */
  entries: { params: Params; score: number; role: 'top' | 'held-out' }[];
  ts: number;
}

export interface StudyStorage {
  /** Appends records (in order) durably. */
  append(records: StudyRecord[]): Promise<void>;
  /**
   * Records after `cursor` (every record without one) and the cursor to pass next time. Cursors are
   * opaque and belong to the reader, so several studies can share one storage.
   */
  read(cursor?: unknown): Promise<{ records: StudyRecord[]; cursor: unknown }>;
  /** Runs fn while holding the study's write lock (a lease: it expires if its holder dies). */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Where the best model goes (storages without a folder return undefined). */
  readonly dir?: string;
  close(): Promise<void>;
}

/** In-memory storage (tests, throwaway studies). */
export class MemoryStorage implements StudyStorage {
  readonly dir?: string = undefined;
  readonly records: StudyRecord[] = [];
  #lock: Promise<void> = Promise.resolve();

  async append(records: StudyRecord[]): Promise<void> {
    this.records.push(...records.map((r) => JSON.parse(JSON.stringify(r)) as StudyRecord));
  }

  async read(cursor?: unknown): Promise<{ records: StudyRecord[]; cursor: unknown }> {
    const from = typeof cursor === 'number' ? cursor : 0;
    return { records: this.records.slice(from).map((r) => JSON.parse(JSON.stringify(r)) as StudyRecord), cursor: this.records.length };
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#lock;
    let release!: () => void;
    this.#lock = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  async close(): Promise<void> {}
}

/** Trial states derived from records; apply() is incremental, so a study can keep one up to date. */
export class Replay {
  header: StudyHeader | null = null;
  readonly trials: Trial[] = [];
  staleRetries = 0;
  /** One-shot scores, in log order. */
  readonly oneShot: OneShotScores[] = [];

  apply(records: readonly StudyRecord[]): void {
    for (const r of records) {
      if (r.op === 'oneshot') {
        if (Array.isArray(r.entries)) this.oneShot.push({ strategy: r.strategy, scored: r.scored, entries: r.entries, ts: r.ts });
        continue;
      }
      if (r.op === 'study') {
        if (!this.header) this.header = { version: r.version, hash: r.hash, spaceHash: r.spaceHash, objectiveId: r.objectiveId, objectives: r.objectives, seed: r.seed, createdAt: r.createdAt };
        continue;
      }
      if (r.op === 'rebind') {
        if (this.header) Object.assign(this.header, { hash: r.hash, spaceHash: r.spaceHash, objectiveId: r.objectiveId });
        continue;
      }
      if (r.op === 'create') {
        if (this.trials[r.number]) continue; // a duplicate number from a racing writer: first wins
        this.trials[r.number] = {
          number: r.number,
          params: r.params,
          seed: r.seed,
          state: 'running',
          attempt: 1,
          intermediate: new Map(),
          owner: r.owner,
          startedAt: r.ts,
          lastHeartbeat: r.ts,
          steps: 0,
        };
        continue;
      }
      const t = this.trials[r.number];
      if (!t) continue;
      switch (r.op) {
        case 'retry':
          if (t.state !== 'stale' || r.attempt !== t.attempt + 1) break;
          Object.assign(t, { state: 'running', attempt: r.attempt, owner: r.owner, startedAt: r.ts, lastHeartbeat: r.ts, steps: 0, intermediate: new Map(), error: undefined });
          this.staleRetries++;
          break;
        case 'report':
          if (r.attempt !== t.attempt || t.state !== 'running') break;
          t.intermediate.set(r.step, r.value === null ? NaN : r.value);
          t.steps = Math.max(t.steps, r.step);
          break;
        case 'heartbeat':
          if (r.attempt === t.attempt) t.lastHeartbeat = Math.max(t.lastHeartbeat, r.ts);
          break;
        case 'finish':
          if (r.attempt !== t.attempt || t.state !== 'running') break;
          t.state = r.state;
          t.values = r.values?.map((x) => (x === null ? NaN : x));
          t.metrics = r.metrics;
          t.error = r.error;
          t.finishedAt = r.ts;
          break;
        case 'stale':
          if (r.attempt !== t.attempt || t.state !== 'running') break;
          t.state = 'stale';
          t.error = r.reason;
          break;
      }
    }
  }
}
