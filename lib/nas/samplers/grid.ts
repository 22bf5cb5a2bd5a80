/**
 * Grid search over a finite space (continuous floats are put on `pointsPerFloat` points, on their
 * scale). The grid is visited in an order shuffled by the study seed (as Optuna's GridSampler), so
 * a budget smaller than the grid still covers it evenly; a point already tried is skipped, and the
 * sampler returns null once every point has been used, which ends the study cleanly.
 */
import * as nt from '../api';
import { Params, Space, choice } from '../space';
import type { Sampler, SuggestContext } from '../types';

export interface GridOptions {
  /** Points for each float parameter without a step (default 5). */
  pointsPerFloat?: number;
  /** Seed of the visiting order (default 0). */
  seed?: number;
}

export class GridSampler implements Sampler {
  readonly name = 'grid';
  readonly #points: number;
  readonly #seed: number;
  #grid: { space: Space; order: Int32Array; source: Space } | null = null;

  constructor(opts: GridOptions = {}) {
    this.#points = opts.pointsPerFloat ?? 5;
    if (!Number.isInteger(this.#points) || this.#points < 2) throw new RangeError(`Expected an integer >= 2 for pointsPerFloat but received ${this.#points}`);
    this.#seed = opts.seed ?? 0;
  }

  #gridOf(source: Space): { space: Space; order: Int32Array } {
    if (this.#grid && this.#grid.source === source) return this.#grid;
    const specs = source.toJSON();
    for (const [name, p] of Object.entries(specs)) {
      if (p.type === 'float' && p.step === undefined && p.low !== p.high) {
        const pts = Array.from({ length: this.#points }, (_, i) => {
          const t = i / (this.#points - 1);
          return p.log ? Math.exp(Math.log(p.low) + t * (Math.log(p.high) - Math.log(p.low))) : p.low + t * (p.high - p.low);
        });
        specs[name] = choice(pts, p.when ? { when: p.when } : {});
      }
    }
    const space = new Space(specs);
    const size = space.size();
    if (size > 1e7) throw new RangeError(`Expected a grid of at most 10,000,000 points for the grid sampler but received ${size}`);
    this.#grid = { space, order: nt.permutation(size, this.#seed), source };
    return this.#grid;
  }

  suggest(ctx: SuggestContext): Params | null {
    const { space, order } = this.#gridOf(ctx.space);
    const taken = new Set(ctx.trials.map((t) => space.key(t.params)));
    for (let i = 0; i < order.length; i++) {
      const p = space.unrank(order[i]);
      if (!taken.has(space.key(p))) return p;
    }
    return null;
  }
}

/** @example createStudy({ space, sampler: gridSampler({ pointsPerFloat: 4 }) }) */
export function gridSampler(opts: GridOptions = {}): GridSampler {
  return new GridSampler(opts);
}
