/**
 * The one-shot plug-in point with a stand-in strategy (the supernet itself is not built yet): the
 * driver scores candidates, retrains the top ones and a held-out sample through the study, and
 * reports rank correlations that track how good the stand-in's scores are. Rank correlations are
 * checked against hand-computed values (equal to scipy.stats' kendalltau / spearmanr).
 */
import * as nas from '../../lib/nas';
import * as bench from './fixtures/nasbench';

test('Kendall tau-b and Spearman rho, ties included', () => {
  expect(nas.kendallTau([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(5 / Math.sqrt(30), 12);
  expect(nas.spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
  expect(nas.kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
  expect(nas.spearman([3, 1, 2], [30, 10, 20])).toBeCloseTo(1, 12);
  expect(nas.ranks([10, 20, 10, 5])).toEqual([2.5, 4, 2.5, 1]);
  expect(nas.kendallTau([1, 1, 1], [1, 2, 3])).toBeNaN();
  expect(() => nas.spearman([1, 2], [1])).toThrow(/Expected two lists of equal length for a rank correlation but received 2 and 1/);
});

function standIn(score: (p: nas.TrialParams) => number): nas.OneShotStrategy & { trained: number } {
  return {
    name: 'stand-in',
    trained: 0,
    async train() {
      this.trained++;
    },
    async score(cands) {
      return cands.map(score);
    },
  };
}

test.each([
  ['a faithful proxy', (p: nas.TrialParams) => bench.trueAccuracy(p), (tau: number) => tau > 0.5],
  ['an inverted proxy', (p: nas.TrialParams) => -bench.trueAccuracy(p), (tau: number) => tau < 0],
])('oneShotSearch with %s: retrains top + held-out candidates and measures the ranking', async (_n, score, ok) => {
  const study = await nas.createStudy({ space: nas.space(bench.spaceSpec(nas)), objectives: { name: 'accuracy', direction: 'maximize' }, objective: bench.objective, seed: 6 });
  const s = standIn(score);
  const r = await nas.oneShotSearch(study, s, { maxCandidates: 300, retrainTop: 5, heldOut: 15 });
  expect(s.trained).toBe(1);
  expect(r.candidates).toHaveLength(300);
  expect(new Set(r.candidates.map((c) => study.space.key(c))).size).toBe(300);
  expect(r.retrained).toHaveLength(20);
  expect(study.trials).toHaveLength(20);
  // The first five trials are the five best-scored candidates, in score order.
  const order = r.candidates.map((_, i) => i).sort((a, b) => r.scores[b] - r.scores[a]);
  expect(study.trials.slice(0, 5).map((t) => study.space.key(t.params))).toEqual(order.slice(0, 5).map((i) => study.space.key(r.candidates[i])));
  expect(ok(r.kendallTau)).toBe(true);
  expect(Math.sign(r.spearman)).toBe(Math.sign(r.kendallTau));
});
