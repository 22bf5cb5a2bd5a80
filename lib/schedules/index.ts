/**
 * Learning-rate schedules: plain-data specs (PyTorch's lr_scheduler definitions, stepped per
 * optimizer step) evaluated natively every training step, and previews of their values.
 */
export {
  constant,
  step,
  multiStep,
  exponential,
  polynomial,
  cosine,
  cosineWarmRestarts,
  linearWarmup,
  oneCycle,
  sequence,
  warmupCosine,
  isSchedule,
  normalizeSchedule,
  normalizeLr,
  MAX_SCHEDULE_DEPTH,
} from './spec';
export type {
  Schedule,
  ScheduleType,
  LrSpec,
  ConstantSchedule,
  StepSchedule,
  MultiStepSchedule,
  ExponentialSchedule,
  PolynomialSchedule,
  CosineSchedule,
  CosineWarmRestartsSchedule,
  LinearWarmupSchedule,
  OneCycleSchedule,
  SequenceSchedule,
} from './spec';
export { scheduleValues, scheduleMomentum, MAX_PREVIEW_STEPS } from './preview';
