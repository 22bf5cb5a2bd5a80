/**
 * The HTML report in a real browser: a small real study (MLPs on the bundled digits, random search
 * with ASHA pruning, accuracy and parameter count as objectives, then a one-shot supernet search
 * on the same study) is written as a report, opened from file:// in headless Chromium (Debian's
 * `chromium`, driven by playwright-core, which downloads nothing), and checked: no console errors,
 * no page errors, no request other than the page itself, every chart's canvas holds coloured (data)
 * pixels, and the one-shot chart's title carries the rank correlations computed here. A full-page
 * screenshot is kept as an artefact (its folder is printed; NODETRAIN_ARTIFACTS picks it).
 * Chromium is required: set NODETRAIN_CHROMIUM to its path when it is not /usr/bin/chromium.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';

import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

import * as nas from '../../lib/nas';

const CHROMIUM = process.env.NODETRAIN_CHROMIUM ?? '/usr/bin/chromium';
const LAUNCH_TIMEOUT_MS = 60_000;
const PAGE_TIMEOUT_MS = 30_000;

const spec: nas.MlpObjectiveSpec = {
  data: { kind: 'digits', trainSize: 400, testSize: 100, seed: 0 },
  space: { activations: 'relu', dropout: 0, skip: false, optimizers: 'adam', lr: 2e-3, batchSize: 32, weightDecay: 0, depth: [1, 3], widths: [8, 13, 24], normalization: 'batch' },
  epochs: 6,
};

let studyDir: string;
let artefacts: string;
let oneShot: nas.OneShotResult;
let browser: Browser | null = null;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`Expected a Chromium executable for the browser check of the report at ${CHROMIUM} but received no such file; install Debian's chromium (apt-get install -y chromium, as .ci/run does) or set NODETRAIN_CHROMIUM to its path`);
  studyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-nas-browser-'));
  artefacts = process.env.NODETRAIN_ARTIFACTS ? path.resolve(process.env.NODETRAIN_ARTIFACTS) : fs.mkdtempSync(path.join(os.tmpdir(), 'nt-report-artefacts-'));
  fs.mkdirSync(artefacts, { recursive: true });
  const objective = nas.mlpObjective(spec);
  const open = (pruner: nas.Pruner) =>
    nas.createStudy({
      space: objective.space,
      objectives: [{ name: 'accuracy', direction: 'maximize' }, { name: 'params', direction: 'minimize' }],
      objectiveId: nas.mlpObjectiveId(spec),
      sampler: nas.randomSampler(),
      pruner,
      dir: studyDir,
      seed: 5,
      objective,
      log: () => undefined,
    });
  // Random search with ASHA (pruned trials), then the same study resumed without a pruner for the
  // one-shot search, so that its retrained candidates run to the end.
  const first = await open(nas.ashaPruner({ reductionFactor: 3 }));
  await first.optimize({ trials: 12, maxSteps: spec.epochs });
  const second = await open(nas.nopPruner());
  oneShot = await nas.oneShotSearch(second, nas.supernetStrategy(objective.space, spec, { epochs: 10 }), { retrainTop: 4, heldOut: 6 });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: LAUNCH_TIMEOUT_MS, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (studyDir) fs.rmSync(studyDir, { recursive: true, force: true });
});

test('the study behind the report has pruned trials, a Pareto front and paired one-shot scores', () => {
  const log = nas.readStudy(studyDir);
  const data = nas.reportData(log);
  expect(data.counts.pruned).toBeGreaterThan(0);
  expect(data.pareto!.front.length).toBeGreaterThan(1);
  expect(log.oneShot).toHaveLength(1);
  expect(log.oneShot![0].entries).toHaveLength(10);
  // The report pairs exactly the complete retrained trials, and finds oneShotSearch's correlations.
  const complete = oneShot.retrained.filter((t) => t.state === 'complete');
  expect(complete.length).toBeGreaterThanOrEqual(5);
  expect(data.oneShot!.points.map((p) => p.n).sort((a, b) => a - b)).toEqual(complete.map((t) => t.number).sort((a, b) => a - b));
  expect(data.oneShot!.points.length).toBeGreaterThanOrEqual(2);
  expect(data.oneShot!.kendallTau).toBeCloseTo(oneShot.kendallTau, 12);
  expect(data.oneShot!.spearman).toBeCloseTo(oneShot.spearman, 12);
});

test('headless Chromium renders every chart without errors', async () => {
  const file = nas.writeReport(studyDir, path.join(artefacts, 'report.html'));
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  const url = pathToFileURL(file).href;
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => Array.isArray((window as unknown as { __charts?: unknown[] }).__charts));
  // Chart.js draws synchronously with animation off; wait two frames for any resize redraw.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  // Per chart: pixels painted anywhere on the canvas (its background is transparent), and coloured
  // pixels inside the plot area, where only data is coloured (grid lines, axes and text are grey;
  // legends, which are coloured, lie outside it). A chart with no data has none.
  const canvases = await page.evaluate(() =>
    (window as unknown as { __charts: { canvas: HTMLCanvasElement; currentDevicePixelRatio: number; chartArea: { left: number; top: number; right: number; bottom: number } }[] }).__charts.map((ch) => {
      const c = ch.canvas;
      const ctx = c.getContext('2d')!;
      const all = ctx.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < all.length; i += 4) if (all[i] !== 0) painted++;
      const s = ch.currentDevicePixelRatio;
      const a = ch.chartArea;
      const w = Math.floor((a.right - a.left) * s);
      const h = Math.floor((a.bottom - a.top) * s);
      const img = w > 0 && h > 0 ? ctx.getImageData(Math.ceil(a.left * s), Math.ceil(a.top * s), w, h).data : new Uint8ClampedArray(0);
      let coloured = 0;
      for (let i = 0; i < img.length; i += 4) if (img[i + 3] > 60 && Math.max(img[i], img[i + 1], img[i + 2]) - Math.min(img[i], img[i + 1], img[i + 2]) > 50) coloured++;
      return { id: c.id, width: c.width, height: c.height, painted, coloured };
    }),
  );
  const ids = await page.evaluate(() => [...document.querySelectorAll('canvas')].map((c) => c.id));
  const titles = await page.evaluate(() => (window as unknown as { __charts: { canvas: HTMLCanvasElement; options: { plugins?: { title?: { text?: string } } } }[] }).__charts.map((ch) => ({ id: ch.canvas.id, title: ch.options.plugins?.title?.text ?? '' })));
  const shot = path.join(artefacts, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  await page.close();
  console.log(`report browser check: screenshot ${shot}, page ${file}`);

  expect(errors).toEqual([]);
  expect(requests).toEqual([]);
  expect(ids).toEqual(['history', 'parallel', 'importances', 'intermediate', 'pareto', 'oneshot']);
  expect(canvases.map((c) => c.id)).toEqual(ids);
  expect(titles.map((t) => t.id)).toEqual(ids);
  for (const c of canvases) {
    expect([c.id, c.width > 100 && c.height > 100, c.painted > 0]).toEqual([c.id, true, true]);
    // Data drawn in the plot area: more than one point's worth of coloured pixels (a point of
    // radius 3 covers about 28). The same page with the one-shot points or the importances removed
    // has 0 there.
    expect([c.id, c.coloured > 50]).toEqual([c.id, true]);
  }
  const data = nas.reportData(nas.readStudy(studyDir)).oneShot!;
  const title = titles.find((t) => t.id === 'oneshot')!.title;
  expect(title).toContain(`Kendall \u03c4 = ${data.kendallTau!.toFixed(3)}`);
  expect(title).toContain(`Spearman \u03c1 = ${data.spearman!.toFixed(3)}`);
  const png = fs.readFileSync(shot);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(png.length).toBeGreaterThan(10_000);
}, 120_000);
