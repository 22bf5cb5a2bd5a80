/**
 * Learning-rate controllers that choose the rate before fit() trains: fit({lr: 'auto'}) runs one.
 * The default runs the range test and trains with a one-cycle schedule peaking at its suggestion.
 */
import type { Tensor } from '../../tensor/tensor';
import { DEFAULT_LEARNING_RATE } from '../../optim/lr';
import { oneCycle } from '../../schedules/spec';
import type { History } from '../callbacks';
import { findLearningRate } from './lr-finder';
import type { LrFinderModel } from './lr-finder';

/** Chooses the learning rate of a fit before its first step. */
export interface LrController {
  beforeFit(model: LrFinderModel, data: { x: Tensor; y: Tensor }, plan: { batchSize: number; seed: number; totalSteps: number }, history: History): Promise<void>;
}

/** The range test (findLearningRate), then one-cycle to its suggestion (History.lrFinder records it). */
export const rangeTestOneCycle: LrController = {
  async beforeFit(model, data, plan, history) {
    const r = await findLearningRate(model, data, { batchSize: plan.batchSize, seed: plan.seed });
    const peak = Number.isFinite(r.suggested) && r.suggested > 0 ? r.suggested : DEFAULT_LEARNING_RATE;
    history.lrFinder = { suggested: peak, suggestions: r.suggestions, lrs: r.lrs, losses: r.losses };
    model.setLearningRate(oneCycle({ maxLr: peak, totalSteps: Math.max(4, plan.totalSteps) }));
  },
};
