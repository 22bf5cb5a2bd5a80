/**
 * Controllers that set the learning rate themselves from what training reports: the
 * learning-rate range test and reduce-on-plateau.
 */
export { findLearningRate, valleySuggestion, steepestSuggestion, minimumSuggestion } from './lr-finder';
export type { LrFinderOptions, LrFinderResult, LrFinderData, LrFinderModel, LrSuggestionRule } from './lr-finder';
export { ReduceLROnPlateau, reduceLROnPlateau } from './plateau';
export type { ReduceLROnPlateauOptions, LrReduction, LrMultiplierModel } from './plateau';
