/**
 * Every script in examples/ runs and reaches its result. The library is compiled from the current
 * sources into a temporary copy of the package (never into the checkout's dist/), and the examples
 * run there, resolving `require('nodetrain')` through the package's own exports map as they do in a
 * checkout after `npm install`, with the addon this checkout built.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
let pkg: string;
let env: NodeJS.ProcessEnv;

function runExample(name: string, args: string[] = []): string {
  return execFileSync(process.execPath, [path.join(pkg, 'examples', name), ...args], {
    cwd: pkg, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000,
  });
}

beforeAll(() => {
  pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-examples-'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(root, 'examples'), path.join(pkg, 'examples'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'lib', 'data'), { recursive: true });
  fs.copyFileSync(path.join(root, 'lib', 'data', 'digits.bin.gz'), path.join(pkg, 'lib', 'data', 'digits.bin.gz'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'lib', 'tsconfig.json'), '--outDir', path.join(pkg, 'dist')], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000,
  });
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const addon = process.env.NODETRAIN_ADDON || (require('node-gyp-build') as { path(dir: string): string }).path(root);
  env = { ...process.env, NODETRAIN_ADDON: addon };
}, 300_000);

afterAll(() => {
  if (pkg) fs.rmSync(pkg, { recursive: true, force: true });
});

describe('examples', () => {
  it('every example has a test here', () => {
    const names = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.js')).sort();
    expect(names).toEqual(['csv-regression.js', 'digits.js', 'fine-tuning.js', 'linear-regression.js', 'search.js', 'serve-while-training.js']);
  });

  it('fine-tuning.js adapts a pretrained model to the noisy domain and beats training from scratch', () => {
    const out = runExample('fine-tuning.js');
    expect(out).toMatch(/phases: head \(rates [^)]+\) -> unfreeze \(rates [^,]+, [^,]+, [^)]+\)/);
    const m = /from scratch ([\d.]+)%, fine-tuned ([\d.]+)%/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
  }, 180_000);

  it('search.js runs a TPE search with ASHA and reports the best configuration', () => {
    const out = runExample('search.js', ['8']);
    expect(out).toMatch(/trials: .*\d+ complete/);
    const best = /best: accuracy ([\d.]+)% with (\{.*\})/.exec(out);
    expect(best).not.toBeNull();
    expect(Number(best![1])).toBeGreaterThan(60);
    expect(JSON.parse(best![2])).toHaveProperty('depth');
  }, 180_000);

  it('serve-while-training.js answers HTTP predictions while the model trains', () => {
    const out = runExample('serve-while-training.js');
    const m = /answered (\d+) prediction requests while training 4 epochs/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1);
    const acc = /test accuracy ([\d.]+)%/.exec(out);
    expect(Number(acc![1])).toBeGreaterThan(85);
    expect(out).toMatch(/after training: predicted \d, \d, \d for labels \d, \d, \d/);
  }, 180_000);

  it('linear-regression.js learns y = 2x + 1', () => {
    const out = runExample('linear-regression.js');
    const m = /learned y = (-?[\d.]+) x \+ (-?[\d.]+)/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(2, 1);
    expect(Number(m![2])).toBeCloseTo(1, 1);
  }, 120_000);

  it('digits.js classifies the bundled digits and reloads the saved model', () => {
    const out = runExample('digits.js', ['2']);
    const acc = /test accuracy ([\d.]+)%/.exec(out);
    expect(acc).not.toBeNull();
    expect(Number(acc![1])).toBeGreaterThan(85);
    expect(out).toMatch(/saved and loaded: 1000\/1000 predictions agree/);
  }, 300_000);

  it('csv-regression.js beats predicting the mean by a wide margin', () => {
    const out = runExample('csv-regression.js');
    const m = /test mae ([\d.]+) \(predicting the mean: ([\d.]+)\)/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(Number(m![2]) / 5);
  }, 120_000);
});
