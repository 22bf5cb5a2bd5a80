/**
 * A study report: one self-contained HTML file (Chart.js inlined, no network) with the
 * optimisation history (values and best so far), parallel coordinates of the parameters, parameter
 * importances, intermediate values per trial (pruned ones marked) and, for two or more objectives,
 * the Pareto front. Importances are correlation ratios (eta squared: the share of the objective's
 * variance explained by each parameter, numeric parameters in quantile bins), normalised to sum to
 * one; Optuna uses fANOVA, which needs a random forest. When the study holds one-shot scores
 * (oneShotSearch appends them), a scatter of each retrained candidate's one-shot score against its
 * stand-alone value, with Kendall tau-b and Spearman rho in the title.
 */
import * as fs from 'fs';
import * as path from 'path';

import { nonDominatedSort } from '../pareto';
import { kendallTau, spearman } from '../rank';
import type { ParamValue, Params } from '../space';
import { JOURNAL_FILE, decodeLine } from '../storage/journal';
import { Replay } from '../storage/storage';
import type { OneShotScores, StudyHeader } from '../storage/storage';
import type { ObjectiveSpec, Trial } from '../types';

export interface StudyLog {
  header: StudyHeader | null;
  trials: Trial[];
  /** One-shot scores recorded by oneShotSearch (absent or empty when none). */
  oneShot?: OneShotScores[];
}

/** A retrained one-shot candidate: its one-shot score (x) and stand-alone first objective (y). */
export interface OneShotPoint {
  x: number;
  y: number;
  /** Trial number. */
  n: number;
  role: 'top' | 'held-out';
}

/** Parameters as a string independent of key order. */
const paramsKey = (p: Params): string => JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]));

/**
 * Pairs each recorded one-shot score with the stand-alone result of its parameters: the first
 * complete trial (by number) with the same parameters, as oneShotSearch pairs them.
 */
export function oneShotPoints(log: StudyLog): OneShotPoint[] {
  const out: OneShotPoint[] = [];
  const byNumber = [...log.trials].sort((a, b) => a.number - b.number);
  for (const run of log.oneShot ?? []) {
    for (const e of run.entries) {
      if (typeof e.score !== 'number' || !Number.isFinite(e.score)) continue;
      const k = paramsKey(e.params);
      const t = byNumber.find((t) => t.state === 'complete' && typeof t.values?.[0] === 'number' && Number.isFinite(t.values[0]) && paramsKey(t.params) === k);
      if (t) out.push({ x: e.score, y: t.values![0], n: t.number, role: e.role });
    }
  }
  return out;
}

/**
 * Reads a study folder without writing to it (no lock, no stale marking); bad lines are skipped.
 * @throws NodetrainError-like Error with code ERR_NT_NO_STUDY when the folder has no journal.
 */
export function readStudy(dir: string): StudyLog {
  const file = path.join(dir, JOURNAL_FILE);
  if (!fs.existsSync(file)) throw Object.assign(new Error(`Expected a study folder with ${JOURNAL_FILE} for dir but received ${JSON.stringify(dir)}`), { code: 'ERR_NT_NO_STUDY' });
  const replay = new Replay();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.pop();
  replay.apply(lines.map(decodeLine).filter((r): r is NonNullable<typeof r> => r !== null));
  return { header: replay.header, trials: replay.trials.filter(Boolean), oneShot: replay.oneShot };
}

/** eta^2 of each parameter for the first objective, normalised to sum 1. */
export function importances(trials: readonly Trial[]): Record<string, number> {
  const done = trials.filter((t) => t.state === 'complete' && t.values && Number.isFinite(t.values[0]));
  if (done.length < 3) return {};
  const names = [...new Set(done.flatMap((t) => Object.keys(t.params)))];
  const out: Record<string, number> = {};
  for (const name of names) {
    const with_ = done.filter((t) => name in t.params);
    if (with_.length < 3) continue;
    const ys = with_.map((t) => t.values![0]);
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const total = ys.reduce((a, y) => a + (y - mean) ** 2, 0);
    if (total === 0) continue;
    const xs = with_.map((t) => t.params[name]);
    const numeric = xs.every((x) => typeof x === 'number') && new Set(xs).size > 5;
    const sorted = numeric ? [...(xs as number[])].sort((a, b) => a - b) : [];
    const group = (x: ParamValue): string => {
      if (!numeric) return JSON.stringify(x);
      const q = sorted.findIndex((s) => s >= (x as number)) / sorted.length;
      return String(Math.min(4, Math.floor(q * 5)));
    };
    const groups = new Map<string, number[]>();
    with_.forEach((t, i) => {
      const g = group(xs[i]);
      (groups.get(g) ?? groups.set(g, []).get(g)!).push(ys[i]);
    });
    let between = 0;
    for (const g of groups.values()) {
      const m = g.reduce((a, b) => a + b, 0) / g.length;
      between += g.length * (m - mean) ** 2;
    }
    out[name] = between / total;
  }
  const sum = Object.values(out).reduce((a, b) => a + b, 0);
  if (sum > 0) for (const k of Object.keys(out)) out[k] /= sum;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** The data the page draws (kept separate so it can be checked without a browser). */
export function reportData(log: StudyLog, objectives?: ObjectiveSpec[]) {
  const objs = objectives ?? log.header?.objectives ?? [{ name: 'value', direction: 'minimize' as const }];
  const sign = objs[0].direction === 'maximize' ? 1 : -1;
  const trials = [...log.trials].sort((a, b) => a.number - b.number);
  const done = trials.filter((t) => t.state === 'complete' && t.values);
  let best = -Infinity;
  const history = done.map((t) => {
    best = Math.max(best, sign * t.values![0]);
    return { x: t.number, y: t.values![0], best: sign * best };
  });
  // Parallel coordinates: every parameter scaled to [0, 1] (log scale when its values span >= 2 decades).
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const axes = names.map((name) => {
    const vals = trials.map((t) => t.params[name]).filter((v) => v !== undefined);
    const nums = vals.every((v) => typeof v === 'number');
    if (nums) {
      const ns = vals as number[];
      const lo = Math.min(...ns);
      const hi = Math.max(...ns);
      const log = lo > 0 && hi / lo >= 100;
      const f = (v: number): number => (hi === lo ? 0.5 : log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo));
      return { name, scale: (v: ParamValue): number => f(v as number), label: `${name} [${lo}..${hi}${log ? ', log' : ''}]` };
    }
    const cats = [...new Set(vals.map((v) => JSON.stringify(v)))].sort();
    return { name, scale: (v: ParamValue): number => (cats.length === 1 ? 0.5 : cats.indexOf(JSON.stringify(v)) / (cats.length - 1)), label: `${name} {${cats.map((c) => JSON.parse(c)).join(', ')}}` };
  });
  const vals = done.map((t) => t.values![0]);
  const vmin = Math.min(...vals);
  const vmax = Math.max(...vals);
  const parallel = done.slice(-300).map((t) => ({
    number: t.number,
    value: t.values![0],
    shade: vmax === vmin ? 1 : (sign > 0 ? t.values![0] - vmin : vmax - t.values![0]) / (vmax - vmin),
    points: axes.map((a) => (a.name in t.params ? a.scale(t.params[a.name]) : null)),
  }));
  const intermediate = trials
    .filter((t) => t.intermediate.size > 0)
    .slice(-300)
    .map((t) => ({ number: t.number, pruned: t.state === 'pruned', points: [...t.intermediate].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y: Number.isFinite(y) ? y : null })) }));
  let pareto: { all: { x: number; y: number; n: number }[]; front: { x: number; y: number; n: number }[]; xName: string; yName: string } | null = null;
  if (objs.length >= 2) {
    const pts = done.map((t) => ({ x: t.values![0], y: t.values![1], n: t.number }));
    const losses = done.map((t) => t.values!.map((v, j) => (objs[j].direction === 'maximize' ? -v : v)));
    const front = (nonDominatedSort(losses)[0] ?? []).map((i) => pts[i]).sort((a, b) => a.x - b.x);
    pareto = { all: pts, front, xName: objs[0].name, yName: objs[1].name };
  }
  const counts: Record<string, number> = {};
  for (const t of trials) counts[t.state] = (counts[t.state] ?? 0) + 1;
  let oneShot: { points: OneShotPoint[]; kendallTau: number | null; spearman: number | null; scored: number; strategy: string; yName: string } | null = null;
  if ((log.oneShot ?? []).length > 0) {
    const points = oneShotPoints(log);
    const enough = points.length >= 2;
    const tau = enough ? kendallTau(points.map((p) => p.x), points.map((p) => p.y)) : NaN;
    const rho = enough ? spearman(points.map((p) => p.x), points.map((p) => p.y)) : NaN;
    const runs = log.oneShot!;
    oneShot = {
      points,
      // JSON has no NaN: null when undefined (fewer than two points, or constant scores).
      kendallTau: Number.isFinite(tau) ? tau : null,
      spearman: Number.isFinite(rho) ? rho : null,
      scored: runs.reduce((a, r) => a + r.scored, 0),
      strategy: [...new Set(runs.map((r) => r.strategy))].join(', '),
      yName: objs[0].name,
    };
  }
  return { objectives: objs, counts, history, axes: axes.map((a) => a.label), parallel, importances: importances(trials), intermediate, pareto, oneShot };
}

function chartJsSource(): string {
  // The package's exports hide dist/ subpaths; its main entry sits in dist/ beside the UMD build.
  const p = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  return fs.readFileSync(p, 'utf8');
}

const PAGE_SCRIPT = `
const D = JSON.parse(document.getElementById('data').textContent);
const charts = [];
function chart(id, cfg) { const el = document.getElementById(id); if (!el) return; cfg.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, cfg.options || {}); charts.push(new Chart(el, cfg)); }
const obj = D.objectives[0].name;
chart('history', { type: 'scatter', data: { datasets: [
  { label: obj, data: D.history.map(h => ({ x: h.x, y: h.y })), backgroundColor: 'rgba(54,162,235,0.6)' },
  { label: 'best so far', type: 'line', data: D.history.map(h => ({ x: h.x, y: h.best })), borderColor: 'rgb(255,99,132)', pointRadius: 0, stepped: true },
] }, options: { scales: { x: { title: { display: true, text: 'trial' } }, y: { title: { display: true, text: obj } } } } });
chart('parallel', { type: 'line', data: { labels: D.axes, datasets: D.parallel.map(p => ({ label: '#' + p.number + ' ' + obj + ' ' + p.value.toPrecision(4), data: p.points, borderColor: 'hsla(' + Math.round(240 - 240 * p.shade) + ',80%,45%,' + (0.25 + 0.6 * p.shade) + ')', pointRadius: 0, spanGaps: false, borderWidth: 1 })) },
  options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 1, title: { display: true, text: 'scaled value' } } } } });
chart('importances', { type: 'bar', data: { labels: Object.keys(D.importances), datasets: [{ label: 'share of ' + obj + ' variance (eta squared, normalised)', data: Object.values(D.importances), backgroundColor: 'rgba(75,192,192,0.7)' }] }, options: { indexAxis: 'y' } });
chart('intermediate', { type: 'line', data: { datasets: D.intermediate.map(t => ({ label: '#' + t.number + (t.pruned ? ' (pruned)' : ''), data: t.points, borderColor: t.pruned ? 'rgba(220,53,69,0.5)' : 'rgba(40,167,69,0.8)', borderDash: t.pruned ? [4, 3] : [], pointRadius: 1, borderWidth: 1 })) },
  options: { plugins: { legend: { display: false } }, scales: { x: { type: 'linear', title: { display: true, text: 'epoch' } }, y: { title: { display: true, text: 'reported value' } } } } });
if (D.pareto) chart('pareto', { type: 'scatter', data: { datasets: [
  { label: 'trials', data: D.pareto.all, backgroundColor: 'rgba(150,150,150,0.5)' },
  { label: 'Pareto front', type: 'line', data: D.pareto.front, borderColor: 'rgb(255,159,64)', backgroundColor: 'rgb(255,159,64)', stepped: true },
] }, options: { scales: { x: { title: { display: true, text: D.pareto.xName } }, y: { title: { display: true, text: D.pareto.yName } } } } });
if (D.oneShot) {
  const f = v => v === null ? 'undefined' : v.toFixed(3);
  const title = 'Kendall \u03c4 = ' + f(D.oneShot.kendallTau) + ', Spearman \u03c1 = ' + f(D.oneShot.spearman) + ' (' + D.oneShot.points.length + ' retrained)';
  chart('oneshot', { type: 'scatter', data: { datasets: [
    { label: 'top-scored, retrained', data: D.oneShot.points.filter(p => p.role === 'top'), backgroundColor: 'rgba(255,99,132,0.8)', pointRadius: 5 },
    { label: 'held-out sample, retrained', data: D.oneShot.points.filter(p => p.role === 'held-out'), backgroundColor: 'rgba(54,162,235,0.8)', pointRadius: 5 },
  ] }, options: { plugins: { title: { display: true, text: 'One-shot score vs retrained ' + D.oneShot.yName + ': ' + title } }, scales: { x: { title: { display: true, text: 'one-shot score (' + D.oneShot.strategy + ', inherited weights)' } }, y: { title: { display: true, text: 'retrained ' + D.oneShot.yName } } } } });
}
window.__charts = charts;
`;

const fmtCorr = (v: number | null): string => (v === null ? 'undefined' : v.toFixed(3));

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * The report page as a string.
 * @example fs.writeFileSync('report.html', renderReport(readStudy('./study')));
 */
export function renderReport(log: StudyLog, opts: { title?: string } = {}): string {
  const data = reportData(log);
  const title = opts.title ?? 'nodetrain study report';
  const counts = Object.entries(data.counts).map(([k, v]) => `${v} ${k}`).join(', ');
  const section = (id: string, h: string, note = ''): string => `<section><h2>${h}</h2>${note ? `<p>${note}</p>` : ''}<div class="c"><canvas id="${id}"></canvas></div></section>`;
  // JSON inside <script type="application/json">: only "</" needs breaking up.
  const json = JSON.stringify(data).replace(/<\//g, '<\\/');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px}section{margin:28px 0}.c{position:relative;height:360px}h1{font-size:22px}h2{font-size:17px}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>${esc(counts)}; objectives: ${esc(data.objectives.map((o) => `${o.direction} ${o.name}`).join(', '))}.</p>
${section('history', 'Optimisation history', 'Each complete trial, and the best value so far.')}
${section('parallel', 'Parallel coordinates', 'One line per complete trial; warmer is better. Parameters absent from a trial leave a gap.')}
${section('importances', 'Parameter importances')}
${section('intermediate', 'Intermediate values', 'Per-epoch values reported by each trial; pruned trials dashed red.')}
${data.pareto ? section('pareto', 'Pareto front') : ''}
${data.oneShot ? section('oneshot', esc(`One-shot score vs retrained ${data.oneShot.yName}: Kendall \u03c4 = ${fmtCorr(data.oneShot.kendallTau)}, Spearman \u03c1 = ${fmtCorr(data.oneShot.spearman)}`), esc(`${data.oneShot.scored} candidates scored with inherited weights (${data.oneShot.strategy}); each retrained candidate's score against its stand-alone ${data.oneShot.yName}. Weight sharing can scramble rankings: a rank correlation near 1 means the one-shot ranking can be trusted.`)) : ''}
<script type="application/json" id="data">${json}</script>
<script>${chartJsSource().replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/**
 * Writes the report of a study folder to `file` (default <dir>/report.html) and returns its path.
 * @throws Error ERR_NT_NO_STUDY when the folder holds no study.
 */
export function writeReport(dir: string, file = path.join(dir, 'report.html')): string {
  fs.writeFileSync(file, renderReport(readStudy(dir), { title: `nodetrain study ${path.basename(path.resolve(dir))}` }));
  return file;
}
