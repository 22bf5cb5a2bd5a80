/** Fine-tuning: layer groups, discriminative rates and the fineTune controller. */
export { layerGroups, sliceRates, discriminativeGroups } from './groups';
export type { GroupRates } from './groups';
export { fineTune } from './finetune';
export type { FineTuneOptions, FineTunePhase } from './finetune';
