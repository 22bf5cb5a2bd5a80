/**
 * The HTML report: one self-contained file (Chart.js inlined, nothing fetched), and the page script
 * run against a stand-in Chart class builds every chart with data (history, parallel coordinates,
 * importances, intermediate values with pruned trials, Pareto front). One-shot scores are paired
 * with the retrained trials of the same parameters. Rendering in a real browser is checked in
 * report.browser.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';

import * as nas from '../../lib/nas';
import * as bench from './fixtures/nasbench';

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-nas-report-'));
  const objective = async (t: nas.TrialContext) => {
    const r = await bench.makeObjective({ epochs: 9 })(t);
    return { accuracy: r.accuracy, params: (t.params.depth as number) * 1000 + (t.params.width_1 as number) };
  };
  const study = await nas.createStudy({ space: nas.space(bench.spaceSpec(nas)), objectives: [{ name: 'accuracy', direction: 'maximize' }, { name: 'params', direction: 'minimize' }], sampler: nas.randomSampler(), pruner: nas.ashaPruner(), dir, seed: 2, objective });
  await study.optimize({ trials: 40, maxSteps: 9 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('importances find the parameter that drives the objective', () => {
  const mk = (n: number, a: number, b: string): nas.Trial => ({ number: n, params: { a, b }, seed: 0, state: 'complete', attempt: 1, values: [a * 10 + (b === 'x' ? 0.01 : 0)], intermediate: new Map(), startedAt: 0, lastHeartbeat: 0, steps: 0 });
  const ts = Array.from({ length: 40 }, (_, i) => mk(i, (i * 7) % 13, i % 2 ? 'x' : 'y'));
  const imp = nas.importances(ts);
  expect(Object.keys(imp)[0]).toBe('a');
  expect(imp.a).toBeGreaterThan(0.9);
  expect(imp.a + imp.b).toBeCloseTo(1, 12);
});

test('a self-contained page whose script builds every chart with data', () => {
  const file = nas.writeReport(dir);
  const html = fs.readFileSync(file, 'utf8');
  expect(html).not.toMatch(/<script[^>]+src=/i);
  expect(html).not.toMatch(/<link[^>]+href=/i);
  expect(html).toMatch(/Chart\.js v4\./);
  const scripts = [...html.matchAll(/<script(?: type="application\/json" id="data")?>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  expect(scripts).toHaveLength(3);
  const made: { id: string; cfg: { type: string; data: { datasets: { data: unknown[]; label: string }[]; labels?: string[] } } }[] = [];
  class FakeChart {
    constructor(el: { id: string }, cfg: never) {
      made.push({ id: el.id, cfg });
    }
  }
  const document = { getElementById: (id: string) => (id === 'data' ? { textContent: scripts[0] } : { id }) };
  const ctx = vm.createContext({ document, Chart: FakeChart, window: {} as Record<string, unknown>, JSON, Math, Object });
  vm.runInContext(scripts[2], ctx);
  expect(made.map((m) => m.id)).toEqual(['history', 'parallel', 'importances', 'intermediate', 'pareto']);
  for (const m of made) {
    expect(m.cfg.data.datasets.length).toBeGreaterThan(0);
    expect([m.id, m.cfg.data.datasets.some((d) => d.data.length > 0)]).toEqual([m.id, true]);
  }
  const inter = made.find((m) => m.id === 'intermediate')!.cfg.data.datasets;
  expect(inter.some((d) => /pruned/.test(d.label))).toBe(true);
  expect(inter.some((d) => !/pruned/.test(d.label))).toBe(true);
  const log = nas.readStudy(dir);
  const data = nas.reportData(log);
  expect(data.history).toHaveLength(log.trials.filter((t) => t.state === 'complete').length);
  expect(data.pareto!.front.length).toBeGreaterThan(0);
  // Best so far never decreases for a maximised objective.
  for (let i = 1; i < data.history.length; i++) expect(data.history[i].best).toBeGreaterThanOrEqual(data.history[i - 1].best);
});

test('one-shot scores in the log are paired with the complete trials of the same parameters', () => {
  const replay = new nas.Replay();
  const create = (number: number, params: nas.TrialParams): nas.StudyRecord => ({ op: 'create', number, params, seed: 0, owner: 'o', ts: 0 });
  const finish = (number: number, state: 'complete' | 'pruned', v?: number): nas.StudyRecord => ({ op: 'finish', number, attempt: 1, state, values: v === undefined ? undefined : [v], ts: 1 });
  replay.apply([
    { op: 'study', version: 1, hash: 'h', spaceHash: 's', objectiveId: 'o', objectives: [{ name: 'accuracy', direction: 'maximize' }], seed: 0, createdAt: 0 },
    create(0, { a: 1, b: 'x' }),
    finish(0, 'pruned'),
    create(1, { b: 'y', a: 2 }),
    finish(1, 'complete', 0.5),
    {
      op: 'oneshot',
      strategy: 's',
      scored: 7,
      entries: [
        { params: { a: 2, b: 'y' }, score: 0.9, role: 'top' }, // trained before: trial 1, keys in another order
        { params: { a: 3, b: 'x' }, score: 0.8, role: 'top' },
        { params: { a: 1, b: 'x' }, score: 0.7, role: 'held-out' }, // pruned before: not retrained, left out
        { params: { a: 4, b: 'x' }, score: null as unknown as number, role: 'held-out' }, // NaN as JSON writes it
        { params: { a: 5, b: 'x' }, score: 0.1, role: 'held-out' },
      ],
      ts: 2,
    },
    create(2, { a: 3, b: 'x' }),
    finish(2, 'complete', 0.7),
    create(3, { a: 4, b: 'x' }),
    finish(3, 'complete', 0.6),
    create(4, { a: 5, b: 'x' }),
    finish(4, 'complete', 0.65),
  ]);
  const log = { header: replay.header, trials: replay.trials, oneShot: replay.oneShot };
  expect(nas.oneShotPoints(log)).toEqual([
    { x: 0.9, y: 0.5, n: 1, role: 'top' },
    { x: 0.8, y: 0.7, n: 2, role: 'top' },
    { x: 0.1, y: 0.65, n: 4, role: 'held-out' },
  ]);
  const d = nas.reportData(log).oneShot!;
  // Scores 0.9, 0.8, 0.1 against 0.5, 0.7, 0.65: pairs (1,2) and (1,3) discordant, (2,3) concordant.
  expect(d.kendallTau).toBeCloseTo(-1 / 3, 12);
  expect(d.spearman).toBeCloseTo(-0.5, 12);
  expect(d.scored).toBe(7);
  expect(nas.reportData({ header: replay.header, trials: replay.trials }).oneShot).toBeNull();
  expect(nas.renderReport(log)).toMatch(/One-shot score vs retrained accuracy: Kendall \u03c4 = -0\.333, Spearman \u03c1 = -0\.500/);
});

test('a folder without a study is refused', () => {
  expect(() => nas.readStudy(os.tmpdir())).toThrow(/Expected a study folder with journal.jsonl for dir/);
});
