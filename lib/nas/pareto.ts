/**
 * Multi-objective helpers: Pareto dominance, fast non-dominated sorting and crowding distance
 * (Deb et al. 2002, "A fast and elitist multiobjective genetic algorithm: NSGA-II", sections III-A
 * and III-B). Values are given as loss vectors (every objective to minimise); callers flip signs.
 */

/** a dominates b: no worse in every objective and better in one. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/** Fronts of indices: fronts[0] is the non-dominated set, fronts[1] the next, ... */
export function nonDominatedSort(points: readonly (readonly number[])[]): number[][] {
  const n = points.length;
  const dominatedBy: number[][] = Array.from({ length: n }, () => []);
  const count = new Int32Array(n);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      if (p === q) continue;
      if (dominates(points[p], points[q])) dominatedBy[p].push(q);
      else if (dominates(points[q], points[p])) count[p]++;
    }
    if (count[p] === 0) fronts[0].push(p);
  }
  for (let i = 0; fronts[i].length > 0; i++) {
    const next: number[] = [];
    for (const p of fronts[i]) for (const q of dominatedBy[p]) if (--count[q] === 0) next.push(q);
    fronts.push(next);
  }
  fronts.pop();
  return fronts;
}

/** Rank (front number) of each point. */
export function nonDominationRanks(points: readonly (readonly number[])[]): number[] {
  const ranks = new Array<number>(points.length).fill(0);
  nonDominatedSort(points).forEach((f, r) => f.forEach((i) => (ranks[i] = r)));
  return ranks;
}

/** Crowding distance of the points of one front (Infinity at the extremes of each objective). */
export function crowdingDistance(points: readonly (readonly number[])[], front: readonly number[]): Map<number, number> {
  const d = new Map<number, number>(front.map((i) => [i, 0]));
  if (front.length === 0) return d;
  const m = points[front[0]].length;
  for (let k = 0; k < m; k++) {
    const sorted = [...front].sort((a, b) => points[a][k] - points[b][k] || a - b);
    const lo = points[sorted[0]][k];
    const hi = points[sorted[sorted.length - 1]][k];
    d.set(sorted[0], Infinity);
    d.set(sorted[sorted.length - 1], Infinity);
    if (hi === lo) continue;
    for (let j = 1; j < sorted.length - 1; j++) {
      d.set(sorted[j], d.get(sorted[j])! + (points[sorted[j + 1]][k] - points[sorted[j - 1]][k]) / (hi - lo));
    }
  }
  return d;
}

/**
 * A total order for selection (NSGA-II's crowded comparison): lower rank first, then larger
 * crowding distance, then lower index. Returns indices best first.
 */
export function crowdedOrder(points: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (const front of nonDominatedSort(points)) {
    const cd = crowdingDistance(points, front);
    out.push(...[...front].sort((a, b) => cd.get(b)! - cd.get(a)! || a - b));
  }
  return out;
}
