/**
 * Rank correlations, for checking how well cheap scores (one-shot, low-fidelity) order candidates
 * compared with their stand-alone results: Spearman's rho (Pearson correlation of average ranks)
 * and Kendall's tau-b (ties in either list accounted for, as scipy.stats.kendalltau's default).
 */

/** Average ranks (1-based; ties share the mean of their positions). */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

function check(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) throw new RangeError(`Expected two lists of equal length for a rank correlation but received ${a.length} and ${b.length}`);
  if (a.length < 2) throw new RangeError(`Expected at least 2 pairs for a rank correlation but received ${a.length}`);
}

/** Spearman's rho; NaN when either list is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  check(a, b);
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Kendall's tau-b; NaN when either list is constant. O(n^2), fine for the few hundred pairs a search checks. */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  check(a, b);
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const da = Math.sign(a[i] - a[j]);
      const db = Math.sign(b[i] - b[j]);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const n0 = concordant + discordant;
  const denom = Math.sqrt((n0 + tiesA) * (n0 + tiesB));
  return denom === 0 ? NaN : (concordant - discordant) / denom;
}
