/**
 * Neural architecture and hyperparameter search: search spaces, samplers (random, grid, regularized
 * evolution, TPE), pruners (median, ASHA, Hyperband), a study recorded as a log (memory or a journal
 * folder), executors (inline, worker threads), multi-objective Pareto fronts, and the built-in MLP
 * space and objective. One-shot (weight-sharing) search plugs in as another executor/strategy pair.
 */
export { Space, space, int, float, choice, bool, cardinality, deriveSeed } from './space';
export type { ParamSpec, ParamValue, Params as TrialParams, NamedParam, Condition, IntParam, FloatParam, ChoiceParam, BoolParam } from './space';
export type { Direction, ObjectiveSpec, Trial, TrialState, Sampler, SuggestContext, Pruner, PruneContext } from './types';
export { RandomSampler, randomSampler } from './samplers/random';
export { GridSampler, gridSampler } from './samplers/grid';
export type { GridOptions } from './samplers/grid';
export { EvolutionSampler, evolutionSampler, mutate } from './samplers/evolution';
export type { EvolutionOptions } from './samplers/evolution';
export { TpeSampler, tpeSampler, defaultGamma, defaultWeights } from './samplers/tpe';
export type { TpeOptions } from './samplers/tpe';
export { MedianPruner, medianPruner } from './pruners/median';
export type { MedianOptions } from './pruners/median';
export { AshaPruner, ashaPruner } from './pruners/asha';
export type { AshaOptions } from './pruners/asha';
export { HyperbandPruner, hyperbandPruner } from './pruners/hyperband';
export type { HyperbandOptions } from './pruners/hyperband';
export { NopPruner, nopPruner } from './pruners/none';
export { MemoryStorage, Replay } from './storage/storage';
export type { StudyStorage, StudyRecord, StudyHeader, OneShotScores } from './storage/storage';
export { JournalStorage, journalStorage, JOURNAL_FILE, LOCK_FILE } from './storage/journal';
export type { JournalOptions, JournalCursor } from './storage/journal';
export { Study, createStudy } from './study';
export type { StudyOptions, OptimizeOptions, OptimizeResult, Progress } from './study';
export { TrialPruned } from './objective';
export type { Objective, ObjectiveResult, TrialContext, Executor, TrialTask, TrialHooks, TrialOutcome } from './objective';
export { InlineExecutor, inlineExecutor } from './executors/inline';
export { dominates, nonDominatedSort, crowdingDistance } from './pareto';
export { WorkerExecutor, workerExecutor } from './executors/worker';
export type { WorkerExecutorOptions, WorkerObjective } from './executors/worker';
export { MlpSpace, mlpSpace, mlpObjective, mlpObjectiveId, loadData } from './mlp';
export type { MlpSpaceOptions, MlpObjectiveSpec, MlpIO, DataSpec, Axis, Loaded } from './mlp';
export { readStudy, renderReport, writeReport, importances, reportData, oneShotPoints } from './report/report';
export type { StudyLog, OneShotPoint } from './report/report';
export { QueueSampler, queueSampler } from './samplers/queue';
export { kendallTau, spearman, ranks } from './rank';
export { oneShotSearch } from './oneshot';
export { SlimmableSupernet, supernetStrategy } from './oneshot/supernet';
export type { SupernetOptions } from './oneshot/supernet';
export type { OneShotStrategy, OneShotContext, OneShotOptions, OneShotResult } from './oneshot';
export { RedisStorage, redisStorage, connectRedis, redactUrl, packDir, unpackDir } from './storage/redis';
export type { RedisStorageOptions, RedisConnectOptions } from './storage/redis';
export { RedisExecutor, redisExecutor } from './executors/redis';
export type { RedisExecutorOptions, DistributedConfig } from './executors/redis';
export { RedisWorker, startRedisWorker } from './executors/redis-worker';
export type { RedisWorkerOptions } from './executors/redis-worker';
