/**
 * The addon on a CPU without AVX-512: valgrind's CPU (its synthetic CPUID reports AVX2/FMA and no
 * AVX-512, and it stops at any AVX-512 instruction) stands in for an AVX2-only machine such as
 * Zen 3. A child process loads the package there, checks that the dispatch chose the AVX2 table,
 * and trains, predicts and evaluates in float32 and bf16: any AVX-512 instruction reached on that
 * path (a static initialiser in an AVX-512 object, a kernel dispatched past its feature check)
 * kills it with SIGILL. Without valgrind it says the check was not exercised.
 */
import { spawnSync } from 'child_process';
import { transpileLib } from '../helpers/transpile';

const child = (index: string) => `
const nt = require(${JSON.stringify(index)});
(async () => {
  const f = nt.cpuFeatures();
  if (f.avx512f || f.bestIsa !== 'avx2') throw new Error('expected the AVX2 table, got ' + JSON.stringify(f));
  const x = Array.from({ length: 64 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 7) / 7, 1]);
  const y = x.map((r) => (r[0] + r[1] > 0 ? 1 : 0));
  for (const precision of ['float32', 'bf16']) {
    const m = nt.sequential([nt.dense({ units: 8, activation: 'gelu', inputShape: [4] }), nt.dense({ units: 2, activation: 'softmax' })], { seed: 1 });
    m.compile({ optimizer: nt.adam({ lr: 0.05 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], precision });
    const h = await m.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0 });
    if (!h.history.loss.every(Number.isFinite)) throw new Error('loss not finite');
    const p = (await m.predict(x)).data();
    if (p.length !== 128) throw new Error('predict');
    await m.evaluate(x, y);
  }
  console.log('ok ' + f.bestIsa + ' ' + f.bf16Gemm);
})().catch((e) => { console.error(e); process.exit(1); });
`;

function hasValgrind(): boolean {
  return spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;
}

describe('the package on an AVX2-only CPU (valgrind)', () => {
  it('loads, dispatches to AVX2 and trains in float32 and bf16 without an AVX-512 instruction', () => {
    if (!hasValgrind()) {
      console.log('not exercised here: valgrind is missing (the AVX2-only CPU check)');
      return;
    }
    // The library as jest sees it (transpiled to a temporary folder, not the checkout's dist/).
    const lib = transpileLib();
    let r;
    try {
      r = spawnSync('valgrind', ['--tool=none', '-q', process.execPath, '-e', child(lib.index)], { encoding: 'utf8', timeout: 240_000 });
    } finally {
      lib.cleanup();
    }
    if (r.status !== 0) console.log(r.stdout, r.stderr.slice(-4000));
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok avx2 /m);
  }, 300_000);
});
