/**
 * The packed install: `npm pack` with the prebuilt binary inside, installed into an empty folder
 * without running install scripts (so nothing can be compiled), loads and computes.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 480_000 });
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

describe('packed install', () => {
  let tmp: string;
  let tarball: string;

  beforeAll(() => {
    // CI runs `npm run prebuild` first; (re)build the prebuilt binary here when it is missing or
    // older than a native source, and the JavaScript, so the tarball matches the sources.
    const binaries = fs.existsSync(prebuildDir) ? fs.readdirSync(prebuildDir).filter((f) => f.endsWith('.node')) : [];
    const built = binaries.length ? Math.min(...binaries.map((f) => fs.statSync(path.join(prebuildDir, f)).mtimeMs)) : 0;
    if (newestSource(path.join(root, 'native')) > built) run('npx', ['prebuildify', '--napi', '--strip'], root);
    run('npm', ['run', 'build:ts'], root);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-pack-'));
    const out = run('npm', ['pack', '--pack-destination', tmp, '--ignore-scripts', '--json'], root);
    const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(tmp, info[0].filename);
    const files = info[0].files.map((f) => f.path);
    expect(files.some((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`) && f.endsWith('.node'))).toBe(true);
    expect(files).toContain('dist/lib/index.js');
    expect(files.some((f) => f.startsWith('build/'))).toBe(false);
  }, 600_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('installs without building and loads the prebuilt binary', () => {
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
    const pkg = path.join(app, 'node_modules', 'nodetrain');
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    const script = `
      const nt = require('nodetrain');
      const a = nt.tensor([[1, 2], [3, 4]]);
      const b = nt.tensor([[5, 6], [7, 8]]);
      const c = nt.matmul(a, b);
      const m = nt.sequential([nt.dense({ units: 1, inputShape: [1] })], { seed: 1 });
      m.compile({ optimizer: nt.sgd({ lr: 0.1 }), loss: 'mse' });
      const x = nt.tensor([[0], [1], [2], [3]]);
      const y = nt.tensor([[1], [3], [5], [7]]);
      m.fit(x, y, { epochs: 200, batchSize: 4, seed: 1 }).then(() => {
        const w = m.getWeights();
        console.log(JSON.stringify({ c: Array.from(c.data()), w: w['dense_1/kernel'].data[0], b: w['dense_1/bias'].data[0],
          loaded: Object.keys(require.cache).filter((k) => k.endsWith('.node')) }));
      });
    `;
    // No compiler on PATH: the package must not need one.
    const env = { ...process.env, PATH: path.dirname(process.execPath), NODETRAIN_ADDON: '' };
    const out = JSON.parse(run(process.execPath, ['-e', script], app, env).trim()) as { c: number[]; w: number; b: number; loaded: string[] };
    expect(out.c).toEqual([19, 22, 43, 50]);
    expect(out.w).toBeCloseTo(2, 2);
    expect(out.b).toBeCloseTo(1, 2);
    expect(out.loaded.length).toBe(1);
    expect(out.loaded[0]).toContain(path.join('node_modules', 'nodetrain', 'prebuilds', `${process.platform}-${process.arch}`));
  }, 600_000);
});
