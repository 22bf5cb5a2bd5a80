/** Never prunes (the default). */
import type { Pruner } from '../types';

export class NopPruner implements Pruner {
  readonly name = 'none';
  shouldPrune(): boolean {
    return false;
  }
}

export function nopPruner(): NopPruner {
  return new NopPruner();
}
