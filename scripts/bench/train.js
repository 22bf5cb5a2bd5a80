#!/usr/bin/env node
// Training benchmark (not part of `npm test`): nodetrain against PyTorch (CPU) and TensorFlow.js
// (tfjs-layers on the wasm and the cpu backends), side by side in one run, each library in its own
// child process so that its peak RSS is its own: scripts/bench/train-worker.js for nodetrain and
// tfjs, scripts/bench/train_torch.py (run by a Python that has torch) for PyTorch.
//
// Usage: node scripts/bench/train.js [--quick] [--libs=nodetrain,torch,tfjs-wasm,tfjs-cpu]
//        [--only=mlpAdam,mlpSgd,mlpAdamBf16,small,linreg,eventLoop] [--rounds=N]  (default 3; --quick: 1 round, fewer runs)
//   NODETRAIN_ADDON=build-x/Release/nodetrain.node  the addon to load (default: the loader's search)
//   NODETRAIN_JS=path/to/lib/index.js               compiled nodetrain (default: compiles lib/ with tsc
//                                                   into .bench/train-dist first)
//   NODETRAIN_PYTHON=/path/to/python3               the Python for the PyTorch peer (default: the first of
//                                                   `python3` and /usr/bin/python3 that imports torch)
// Writes the markdown report to .bench/train.md. Takes about 3-5 minutes on 2 cores.
//
// Peers (--libs names): nodetrain and torch at 1 and 2 threads (setNumThreads; torch.set_num_threads
// with OMP/MKL/OPENBLAS_NUM_THREADS set to match; see runTorch for the OpenMP wait policy), tfjs-wasm and tfjs-cpu
// on one. Where no Python with torch is found, the PyTorch peer is skipped with a message saying why
// (Debian: apt-get install python3-torch); nothing is downloaded.
//
// Workloads (same data, model, initialiser families and optimizer settings on every side):
//   1. MLP 784-256-256-10 on the bundled digits, batch 128, Adam 1e-3 and SGD 0.01: samples/s,
//      nodetrain and PyTorch at 1 and 2 threads. Warm-up excluded; medians of repeated fits. Also
//      bf16 (Adam): nodetrain's compile({ precision: 'bf16' }) ("n/a" on builds without that option)
//      and PyTorch's torch.autocast('cpu', dtype=torch.bfloat16); accuracy on the held-out digits
//      (loadDigits' test split) after the timed runs, f32 and bf16, for nodetrain and PyTorch.
//   2. 4-16-3 (relu, softmax) on 150 iris-like samples, batch 16, 100 epochs (1,000 steps): ms/step.
//   3. Linear regression y = 1.5x - 2 + noise, 1 -> 1 dense, SGD 0.01, batch 10, 1,000 steps: total ms.
//   4. Peak RSS of each child (process.resourceUsage().maxRSS; Python: getrusage's ru_maxrss) over all
//      its workloads.
//   5. Event-loop delay p99 (monitorEventLoopDelay, 1 ms resolution) during a ~3 s MLP Adam fit.
'use strict';
const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { irisLike, linregData, writeArrays, writeDigits } = require('./train-data');

const root = path.join(__dirname, '..', '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argList = (name) => {
  const a = args.find((s) => s.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3).split(',').filter(Boolean) : null;
};
const LIBS = ['nodetrain', 'torch', 'tfjs-wasm', 'tfjs-cpu'];
const libs = argList('libs') ?? LIBS;
for (const l of libs) if (!LIBS.includes(l)) throw new RangeError(`Expected one of ${LIBS.join(', ')} for --libs but received '${l}'`);
const only = argList('only');
const benchDir = path.join(root, '.bench');

const TARGETS = { mlp: 50, small: 300, linreg: 200, elNt: 5, elTf: 100 };
const ROUNDS = Number(argList('rounds')?.[0] ?? (quick ? 1 : 3));
// Timed runs per workload in each round (each after its own warm-up run).
const REPS = {
  nodetrain: { mlp: quick ? 2 : 3, small: 15, linreg: 15 }, // small and linreg runs take milliseconds
  // Python costs ~0.1-0.4 ms per step; 4-16-3 runs as many as nodetrain's, so both train as long.
  torch: { mlp: quick ? 2 : 3, small: 15, linreg: quick ? 3 : 5 },
  'tfjs-wasm': { mlp: 2, small: quick ? 1 : 2, linreg: 2 },
  'tfjs-cpu': { mlp: quick ? 1 : 2, small: 1, linreg: 1 },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// Pools the rounds of one configuration: medians over all timed runs, peak of the peaks.
function combine(list) {
  const last = list[list.length - 1];
  const out = { lib: last.lib, threads: last.threads, info: last.info, rounds: list.length };
  for (const k of ['mlpAdam', 'mlpSgd', 'mlpAdamBf16']) {
    const rs = list.map((r) => r[k]).filter((r) => r && !r.unsupported);
    if (!rs.length) {
      const u = list.map((r) => r[k]).find((r) => r?.unsupported);
      if (u) out[k] = { unsupported: u.unsupported };
      continue;
    }
    const l = rs[rs.length - 1];
    const ms = rs.flatMap((r) => r.ms);
    out[k] = { samples: l.samples, ms, samplesPerSec: l.samples / (median(ms) / 1000), lastLoss: l.lastLoss, cpuUsPerSample: median(rs.map((r) => r.cpuUsPerSample)) };
    const acc = rs.map((r) => r.testAccuracy).filter(Number.isFinite);
    if (acc.length) out[k].testAccuracy = median(acc);
  }
  const sm = list.map((r) => r.small).filter(Boolean);
  if (sm.length) {
    const ms = sm.flatMap((r) => r.ms);
    out.small = { ms, steps: last.small.steps, msPerStep: median(ms) / last.small.steps, lastLoss: last.small.lastLoss };
  }
  const lr = list.map((r) => r.linreg).filter(Boolean);
  if (lr.length) {
    const runs = lr.flatMap((r) => r.runs);
    out.linreg = { runs, ms: median(runs), w: last.linreg.w, b: last.linreg.b };
  }
  const el = list.map((r) => r.eventLoop).filter(Boolean);
  if (el.length) {
    out.eventLoop = { p99s: el.map((e) => e.p99), p99: median(el.map((e) => e.p99)), max: Math.max(...el.map((e) => e.max)), fitMs: last.eventLoop.fitMs };
    out.eventLoop.idleP99 = median(el.map((e) => e.idleP99));
    out.eventLoop.idleMax = Math.max(...el.map((e) => e.idleMax));
  }
  out.maxRssMB = Math.max(...list.map((r) => r.maxRssMB));
  out.rssBaseMB = median(list.map((r) => r.rssBaseMB));
  out.wallS = list.reduce((a, r) => a + r.wallS, 0);
  return out;
}

function nodetrainJs() {
  if (process.env.NODETRAIN_JS) return path.resolve(process.env.NODETRAIN_JS);
  // Compiled inside the package so that the loader (and `mnist`) resolve from the package root.
  const outDir = path.join(benchDir, 'train-dist');
  console.error(`compiling lib/ into ${path.relative(root, outDir)} ...`);
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'lib', 'tsconfig.json'), '--outDir', outDir], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    // Type errors elsewhere still emit JavaScript; carry on when the entry point is there.
    console.error(`tsc reported errors (continuing with the emitted JavaScript):\n${String(e.stdout).slice(0, 2000)}`);
  }
  const js = path.join(outDir, 'lib', 'index.js');
  if (!fs.existsSync(js)) throw new Error(`tsc did not produce ${js}`);
  // loadDigits looks for its data beside the compiled module.
  fs.copyFileSync(path.join(root, 'lib', 'data', 'digits.bin.gz'), path.join(outDir, 'lib', 'data', 'digits.bin.gz'));
  return js;
}

// The bundled digits, written once as [n u32][d u32][x f32 n*d][y i32 n] for the children: the
// training split to dataFile, loadDigits' held-out test split to testFile.
function writeDigitsFiles(ntJs, dataFile, testFile) {
  const nt = require(ntJs);
  const { train, test } = nt.loadDigits({ seed: 0 });
  writeDigits(dataFile, train.x.data(), train.y.data(), train.x.shape[1]);
  writeDigits(testFile, test.x.data(), test.y.data(), test.x.shape[1]);
  const out = { n: train.y.shape[0], nTest: test.y.shape[0], d: train.x.shape[1], features: nt.cpuFeatures() };
  for (const t of [train.x, train.y, test.x, test.y]) t.dispose();
  return out;
}

// The synthetic sets, for the PyTorch child (the JavaScript children draw their own, the same).
function writeSynth(file) {
  const ir = irisLike();
  const lr = linregData();
  const n = lr.x.length;
  return writeArrays(file, { irisX: { data: ir.x, shape: [150, 4] }, irisY: { data: ir.y, shape: [150] }, linregX: { data: lr.x, shape: [n, 1] }, linregY: { data: lr.y, shape: [n, 1] } });
}

// The CPU's vector and matrix extensions that matter here, from /proc/cpuinfo (Linux).
function cpuFlags() {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const have = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
    const shown = ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_tile', 'amx_bf16'].filter((f) => have.has(f));
    return line ? ` (${shown.length ? shown.join(' ') : 'no AVX2'}${have.has('amx_tile') ? '' : ', no AMX'})` : '';
  } catch {
    return '';
  }
}

// A Python that imports torch: NODETRAIN_PYTHON, else the first of `python3` and /usr/bin/python3.
// Returns { python, version } or { skip: why }.
function findTorchPython() {
  const env = process.env.NODETRAIN_PYTHON;
  const candidates = env ? [env] : ['python3', '/usr/bin/python3'];
  const tried = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import sys, torch; print(torch.__version__); print(sys.executable)'], { encoding: 'utf8', timeout: 120000 });
    if (r.status === 0) {
      const [version, executable] = r.stdout.trim().split('\n');
      return { python: py, executable, version };
    }
    const why = r.error ? (r.error.code === 'ENOENT' ? 'not found' : r.error.message) : ((r.stderr || '').trim().split('\n').pop() || `exit ${r.status}`);
    tried.push(`${py}${env ? ' (NODETRAIN_PYTHON)' : ''}: ${why}`);
  }
  return {
    skip:
      `PyTorch peer skipped: no Python with torch (tried ${tried.join('; ')}). ` +
      `Install it with \`apt-get install python3-torch\` (Debian/Ubuntu) or point NODETRAIN_PYTHON at a Python that has torch.`,
  };
}

function runChild(cfg, tagSuffix = '') {
  const isTorch = cfg.lib === 'torch';
  const tag = `${cfg.lib}${cfg.lib === 'nodetrain' || isTorch ? `-${cfg.threads}t` : ''}${tagSuffix}`;
  const cfgFile = path.join(benchDir, `train-${tag}.config.json`);
  const resFile = path.join(benchDir, `train-${tag}.result.json`);
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  fs.rmSync(resFile, { force: true });
  const t0 = Date.now();
  // The PyTorch child gets its thread counts in the environment too, before torch starts its pools.
  const threadEnv = { OMP_NUM_THREADS: String(cfg.threads), MKL_NUM_THREADS: String(cfg.threads), OPENBLAS_NUM_THREADS: String(cfg.threads) };
  const [cmd, script, env] = isTorch ? [cfg.python, 'train_torch.py', { ...process.env, ...threadEnv }] : [process.execPath, 'train-worker.js', process.env];
  const r = spawnSync(cmd, [path.join(__dirname, script), cfgFile, resFile], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env });
  // Progress lines start with '['; drop tfjs's "install tfjs-node" banner.
  for (const line of (r.stderr || '').split('\n')) if (line.startsWith('[')) console.error(line);
  if (r.status !== 0 || !fs.existsSync(resFile)) {
    console.error(`${tag} failed (exit ${r.status}):\n${r.stderr}`);
    return null;
  }
  const res = JSON.parse(fs.readFileSync(resFile, 'utf8'));
  res.wallS = (Date.now() - t0) / 1000;
  return res;
}

// PyTorch runs in two children per thread count, each with the OpenMP waiting that suits it.
// Debian's torch runs fp32 GEMM on OpenBLAS's own pthreads and the rest on libgomp's: with
// libgomp's default spinning, the two pools fight over the cores (the 2-thread fp32 MLP ran 2-20x
// slower than with OMP_WAIT_POLICY=PASSIVE on a 2-core Zen 4). Its bf16 matmuls run on oneDNN, on
// libgomp's threads, where passive waiting cost 2-3x and a bounded spin (GOMP_SPINCOUNT=10000) was
// the fastest measured. So: fp32 workloads under PASSIVE, the bf16 one under the bounded spin; the
// peak RSS is the larger of the two children's. With 2 threads on 2 cores, any spinning is at the
// mercy of other load on the machine: the bf16 2-thread figure swung from ~90k to ~10k samples/s
// between back-to-back runs on a shared machine.
const TORCH_BF16 = 'mlpAdamBf16';
const TORCH_OMP_FP32 = { OMP_WAIT_POLICY: 'PASSIVE' };
const TORCH_OMP_BF16 = { GOMP_SPINCOUNT: '10000' };
const envText = (e) => Object.entries(e).map(([k, v]) => `${k}=${v}`).join(' ');
const WORKLOADS = ['mlpAdam', 'mlpSgd', TORCH_BF16, 'small', 'linreg', 'eventLoop'];
function runTorch(cfg) {
  const keys = (cfg.only ?? WORKLOADS).filter((k) => k !== 'eventLoop');
  const fp32 = keys.filter((k) => k !== TORCH_BF16);
  const a = fp32.length ? runChild({ ...cfg, only: fp32, ompEnv: TORCH_OMP_FP32 }) : null;
  const b = keys.includes(TORCH_BF16) ? runChild({ ...cfg, only: [TORCH_BF16], ompEnv: TORCH_OMP_BF16 }, '-bf16') : null;
  if (!a || !b) return a ?? b;
  return { ...a, [TORCH_BF16]: b[TORCH_BF16], maxRssMB: Math.max(a.maxRssMB, b.maxRssMB), wallS: a.wallS + b.wallS, info: { ...a.info, bf16Matmul: b.info.bf16Matmul } };
}

const f = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const fx = (x) => (Number.isFinite(x) ? `${x >= 100 ? f(x) : x >= 10 ? f(x, 1) : f(x, 2)}×` : '–');

async function main() {
  const t0 = Date.now();
  fs.mkdirSync(benchDir, { recursive: true });
  const load0 = os.loadavg();
  const ntJs = nodetrainJs();
  const ntAddon = process.env.NODETRAIN_ADDON ? path.resolve(process.env.NODETRAIN_ADDON) : null;
  if (ntAddon) process.env.NODETRAIN_ADDON = ntAddon;
  const dataFile = path.join(benchDir, 'train-digits.bin');
  const testFile = path.join(benchDir, 'train-digits-test.bin');
  const digits = writeDigitsFiles(ntJs, dataFile, testFile);
  let torchPy = null;
  if (libs.includes('torch')) {
    torchPy = findTorchPython();
    if (torchPy.skip) console.error(torchPy.skip);
    else console.error(`PyTorch peer: torch ${torchPy.version} with ${torchPy.executable}`);
  }

  const base = { ntJs, ntAddon, dataFile, testFile, quick, root, only };
  const configs = [];
  if (libs.includes('nodetrain')) for (const threads of [1, 2]) configs.push({ ...base, lib: 'nodetrain', threads, reps: REPS.nodetrain });
  if (torchPy && !torchPy.skip) {
    const synthFile = path.join(benchDir, 'train-synth.bin');
    const synth = writeSynth(synthFile);
    for (const threads of [1, 2]) configs.push({ ...base, lib: 'torch', python: torchPy.python, synthFile, synth, threads, reps: REPS.torch });
  }
  for (const l of ['tfjs-wasm', 'tfjs-cpu']) if (libs.includes(l)) configs.push({ ...base, lib: l, threads: 1, reps: REPS[l] });
  // Rounds alternate the libraries so that all of them see the same (shared, varying) machine load;
  // the timed runs of all rounds are pooled before taking medians.
  const runs = {};
  for (let round = 1; round <= ROUNDS; round++) {
    console.error(`-- round ${round} of ${ROUNDS} (load average ${os.loadavg()[0].toFixed(2)})`);
    for (const c of configs) {
      const key = c.lib === 'nodetrain' ? `nt${c.threads}` : c.lib === 'torch' ? `torch${c.threads}` : c.lib;
      const r = c.lib === 'torch' ? runTorch(c) : runChild(c);
      if (r) (runs[key] ??= []).push(r);
    }
  }
  const res = {};
  for (const [k, list] of Object.entries(runs)) res[k] = combine(list);
  const load1 = os.loadavg();

  const nt1 = res.nt1;
  const nt2 = res.nt2;
  const pt1 = res.torch1;
  const pt2 = res.torch2;
  const wasm = res['tfjs-wasm'];
  const cpu = res['tfjs-cpu'];
  const all = [nt1, nt2, pt1, pt2, wasm, cpu];
  const get = (r, k, field) => r?.[k]?.[field];
  const lines = [];
  const log = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  const tfv = (p) => {
    try {
      return require(`${p}/package.json`).version;
    } catch {
      return '?';
    }
  };

  log('# Training benchmark: nodetrain vs PyTorch and TensorFlow.js');
  log();
  log(`- command: \`${['node', path.relative(root, __filename), ...args].join(' ')}\`${ntAddon ? ` with NODETRAIN_ADDON=${path.relative(root, ntAddon)}` : ''}`);
  log(`- machine: ${os.cpus()[0]?.model ?? '?'}${cpuFlags()}, ${os.cpus().length} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}; load average (1/5/15 min) at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
  const feats = Object.entries(digits.features)
    .map(([k, v]) => (typeof v === 'boolean' ? (v ? k : null) : `${k} ${v}`))
    .filter(Boolean)
    .join(', ');
  log(`- nodetrain: cpuFeatures(): ${feats}; threads 1 and 2 (setNumThreads); bf16 row: compile({ precision: 'bf16' })`);
  if (torchPy?.skip) log(`- ${torchPy.skip}`);
  else if (torchPy) {
    const pi = (pt1 ?? pt2)?.info ?? {};
    log(
      `- PyTorch ${pi.torch ?? torchPy.version} (Python ${pi.python ?? '?'}, ${pi.executable ?? torchPy.executable}), CPU: threads 1 and 2 (torch.set_num_threads, with OMP/MKL/OPENBLAS_NUM_THREADS set to match); fp32 workloads with ${envText(TORCH_OMP_FP32)} (spinning libgomp workers starve OpenBLAS's threads), bf16 in a second process with ${envText(TORCH_OMP_BF16)} (oneDNN runs on libgomp's threads); ` +
        `ATen CPU capability ${pi.cpuCapability ?? '?'}; oneDNN ${pi.mkldnn ?? '?'}; BLAS libraries loaded (fp32 GEMM on Debian's build): ${pi.blas?.length ? pi.blas.join(', ') : 'none seen'}; bf16 matmul: ${pi.bf16Matmul ? `oneDNN ${pi.bf16Matmul}` : 'not oneDNN (ATen fallback)'}; ` +
        `the model ends in logits with F.cross_entropy (softmax fused into the loss); default torch.optim.Adam / SGD; bf16 row: torch.autocast('cpu', dtype=torch.bfloat16) around forward and loss`,
    );
  }
  if (libs.some((l) => l.startsWith('tfjs'))) {
    log(
      `- tfjs ${tfv('@tensorflow/tfjs-core')} (tfjs-layers ${tfv('@tensorflow/tfjs-layers')}); wasm backend: threads ${wasm?.info?.threads ?? '?'}, ` +
        `multithread support ${wasm?.info?.multithread ?? '?'}, SIMD ${wasm?.info?.simd ?? '?'}; cpu backend: single-threaded JavaScript`,
    );
  }
  const samples = (r) => f(r?.mlpAdam?.samples);
  log(
    `- data: the bundled digits (${f(digits.n)} × ${digits.d} training, ${f(digits.nTest)} held out for the accuracy rows); samples per timed MLP run: nodetrain ${samples(nt1 ?? nt2)}, PyTorch ${samples(pt1 ?? pt2)} (full batches of 128, several epochs), ` +
      `tfjs-wasm ${samples(wasm)}, tfjs-cpu ${samples(cpu)} (one epoch: they are 30-300× slower); samples/s is per-sample throughput either way`,
  );
  log(
    `- ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}, each running every library once in its own child process (in turn, so all see the same machine load); ` +
      `timings are medians of the timed runs of all rounds (per round: ${Object.entries(REPS).map(([l, r]) => `${l} ${r.mlp}/${r.small}/${r.linreg}`).join(', ')} runs of MLP/4-16-3/linreg), each workload after a warm-up run; ` +
      `event-loop p99 is the median over rounds, its max the max`,
  );
  log();
  const cells = (fn) => all.map((r) => (r ? fn(r) : '–')).join(' | ');
  const pair = (a1, a2) => `${fx(a1)} / ${fx(a2)}`;
  const best = (a, b) => Math.max(...[a, b].filter(Number.isFinite));
  const status = (v, target) => (Number.isFinite(v) ? (v >= target ? `met (${fx(v)})` : `**missed** (${fx(v)})`) : '–');
  log('| workload | nodetrain 1T | nodetrain 2T | PyTorch 1T | PyTorch 2T | tfjs-wasm | tfjs-cpu | nt / PyTorch (1T / 2T) | nt / wasm (1T / 2T) | nt / cpu (1T / 2T) | target (best nt vs wasm) or note |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  // Throughput rows: ratio = nodetrain / peer (> 1: nodetrain faster).
  for (const [k, label] of [
    ['mlpAdam', 'MLP 784-256-256-10, Adam 1e-3: samples/s'],
    ['mlpSgd', 'MLP 784-256-256-10, SGD 0.01: samples/s'],
    ['mlpAdamBf16', 'MLP 784-256-256-10, Adam 1e-3, **bf16**: samples/s'],
  ]) {
    const v = (r) => get(r, k, 'samplesPerSec');
    if (!all.some((r) => r?.[k])) continue;
    const cell = (r) => (r?.[k]?.unsupported ? `n/a (${r[k].unsupported})` : f(v(r)));
    const rw = [v(nt1) / v(wasm), v(nt2) / v(wasm)];
    let note = `≥ ${TARGETS.mlp}×: ${status(best(...rw), TARGETS.mlp)}`;
    if (k === 'mlpAdamBf16') {
      const sp = (r) => v(r) / get(r, 'mlpAdam', 'samplesPerSec');
      note = `bf16 / f32 speed: nodetrain ${pair(sp(nt1), sp(nt2))}, PyTorch ${pair(sp(pt1), sp(pt2))}`;
    }
    log(`| ${label} | ${cells(cell)} | ${pair(v(nt1) / v(pt1), v(nt2) / v(pt2))} | ${pair(...rw)} | ${pair(v(nt1) / v(cpu), v(nt2) / v(cpu))} | ${note} |`);
  }
  // Time rows: ratio = peer / nodetrain (> 1: nodetrain faster).
  const timeRow = (label, k, field, d, target) => {
    const v = (r) => get(r, k, field);
    if (!all.some((r) => v(r) !== undefined)) return;
    const rw = [v(wasm) / v(nt1), v(wasm) / v(nt2)];
    log(`| ${label} | ${cells((r) => f(v(r), d))} | ${pair(v(pt1) / v(nt1), v(pt2) / v(nt2))} | ${pair(...rw)} | ${pair(v(cpu) / v(nt1), v(cpu) / v(nt2))} | ≥ ${target}×: ${status(best(...rw), target)} |`);
  };
  timeRow('4-16-3, 150 samples, batch 16, 100 epochs: ms/step', 'small', 'msPerStep', 4, TARGETS.small);
  timeRow('linear regression, 1,000 SGD steps of batch 10: total ms', 'linreg', 'ms', 2, TARGETS.linreg);
  const ratioNote = 'Ratio columns: how many times faster nodetrain is (samples/s: nodetrain / peer; ms: peer / nodetrain), at the same thread count for PyTorch; RSS rows: nodetrain MB / peer MB.';
  const rss = (r) => r?.maxRssMB;
  if (all.some((r) => rss(r) !== undefined)) {
    const rr = (a, b) => (Number.isFinite(a / b) ? (a / b).toFixed(2) : '–');
    log(
      `| peak RSS of the process (maxRSS), MB | ${cells((r) => f(rss(r)))} | ${rr(rss(nt1), rss(pt1))} / ${rr(rss(nt2), rss(pt2))} (ratio of MB) | ${rr(rss(nt1), rss(wasm))} / ${rr(rss(nt2), rss(wasm))} (ratio of MB) | ${rr(rss(nt1), rss(cpu))} / ${rr(rss(nt2), rss(cpu))} | – |`,
    );
    log(`| RSS after loading the library and the MLP data, MB | ${cells((r) => f(r.rssBaseMB))} | | | | nodetrain and PyTorch hold more MLP samples than tfjs (see below) |`);
    const d = (r) => (r ? r.maxRssMB - r.rssBaseMB : NaN);
    log(`| peak RSS minus that, MB (what training adds) | ${cells((r) => f(d(r)))} | | | | |`);
  }
  const el = (r, p) => get(r, 'eventLoop', p);
  if (all.some((r) => el(r, 'p99') !== undefined)) {
    const cell = (r) => (r?.eventLoop ? `${el(r, 'p99').toFixed(2)} (max ${el(r, 'max').toFixed(1)})` : '–');
    const idle = (r) => (r?.eventLoop?.idleP99 !== undefined ? `${r.eventLoop.idleP99.toFixed(2)} (max ${r.eventLoop.idleMax.toFixed(1)})` : '–');
    const ntWorst = Math.max(...[nt1, nt2].map((r) => el(r, 'p99')).filter(Number.isFinite));
    const tfBest = Math.min(...[wasm, cpu].map((r) => el(r, 'p99')).filter(Number.isFinite));
    const ok = ntWorst < TARGETS.elNt;
    log(
      `| event-loop delay during MLP fit, p99 ms (max) | ${all.map((r) => cell(r)).join(' | ')} | | | | nt < ${TARGETS.elNt} ms: ${ok ? 'met' : '**missed**'} (${f(ntWorst, 2)} ms); tfjs ≥ ${TARGETS.elTf} ms: ${Number.isFinite(tfBest) ? (tfBest >= TARGETS.elTf ? 'yes' : 'no') : '–'}; PyTorch: no event loop |`,
    );
    log(`| same, with nothing running (1 s before the fit): machine noise | ${all.map((r) => idle(r)).join(' | ')} | | | | |`);
  }
  log();
  log(ratioNote);
  log();
  log(
    'Sanity and diagnostics: last-epoch training loss of the last timed run (every side trains the same models), accuracy on the held-out digits after the timed runs (nodetrain and PyTorch train the same number of epochs; median over rounds), ' +
      'linear-regression weights, CPU time per MLP sample (wall time stretches on a shared machine, CPU time much less).',
  );
  log();
  log('| | nodetrain 1T | nodetrain 2T | PyTorch 1T | PyTorch 2T | tfjs-wasm | tfjs-cpu |');
  log('|---|---:|---:|---:|---:|---:|---:|');
  const row = (label, fn) => log(`| ${label} | ${cells(fn)} |`);
  const na = (r, k, fn) => (r[k]?.unsupported ? 'n/a' : fn(r[k]));
  const pct = (x) => (Number.isFinite(x) ? f(100 * x, 1) : '–');
  row('MLP Adam: samples trained per timed run', (r) => f(r.mlpAdam?.samples));
  row('MLP Adam: loss', (r) => f(r.mlpAdam?.lastLoss, 4));
  row('MLP Adam bf16: loss', (r) => na(r, 'mlpAdamBf16', (x) => f(x?.lastLoss, 4)));
  row('MLP SGD: loss', (r) => f(r.mlpSgd?.lastLoss, 4));
  row('MLP Adam: held-out accuracy, %', (r) => pct(r.mlpAdam?.testAccuracy));
  row('MLP Adam bf16: held-out accuracy, %', (r) => na(r, 'mlpAdamBf16', (x) => pct(x?.testAccuracy)));
  row('MLP SGD: held-out accuracy, %', (r) => pct(r.mlpSgd?.testAccuracy));
  row('4-16-3: loss', (r) => f(r.small?.lastLoss, 4));
  row('linreg: w, b (true 1.5, −2)', (r) => (r.linreg ? `${r.linreg.w.toFixed(3)}, ${r.linreg.b.toFixed(3)}` : '–'));
  row('MLP Adam: CPU µs per sample (all threads)', (r) => f(r.mlpAdam?.cpuUsPerSample, 1));
  row('MLP Adam bf16: CPU µs per sample (all threads)', (r) => na(r, 'mlpAdamBf16', (x) => f(x?.cpuUsPerSample, 1)));
  row('MLP SGD: CPU µs per sample (all threads)', (r) => f(r.mlpSgd?.cpuUsPerSample, 1));
  row('event-loop run: fit seconds', (r) => f(r.eventLoop?.fitMs / 1000, 1));
  row('child processes wall time (all rounds), s', (r) => f(r.wallS, 1));
  log();
  log(`Total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);

  const outFile = path.join(benchDir, 'train.md');
  fs.writeFileSync(outFile, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${path.relative(root, outFile)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
