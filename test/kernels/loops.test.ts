/**
 * The engine's loops as Backend slots (native/kernels/loops.cc, nodetrain/loops.h): the loss of a
 * batch and its gradient for every loss kind, with and without per-row weights; the metric sums;
 * the row gather; the hypergradient direction; the dropout draws (Philox, the CUDA table's
 * stream). Each against float64 (or exact) references on fresh random inputs of awkward shapes. A device backend (CUDA) fills the same
 * slots; its parity runs on a GPU machine (scripts/device/check.sh).
 */
import { makeRng, randNormal, randUniform, relErr } from '../helpers/numerics';
import { describeVariants } from '../helpers/variants';
import { call, nbuf, read, SHAPES } from './kernel-call';

const LOSSES = ['mse', 'mae', 'huber', 'bce', 'bceLogits', 'cce', 'sparseCce', 'cceLogits', 'sparseCceLogits'] as const;
type Loss = (typeof LOSSES)[number];
const EPS = 1e-7;

const bits = (a: Int32Array | Uint32Array): Float32Array => new Float32Array(a.buffer.slice(0));

/** Philox4x32-10 (Salmon et al. 2011) of the counter (q, 0, 0, 0) under a 64-bit key, in BigInt. */
function philox4x32(q: number, key: bigint): number[] {
  const M = 0xffffffffn;
  let [c0, c1, c2, c3] = [BigInt(q) & M, BigInt(q) >> 32n, 0n, 0n];
  let [k0, k1] = [key & M, key >> 32n];
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c0, p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [((p1 >> 32n) ^ c1 ^ k0) & M, p1 & M, ((p0 >> 32n) ^ c3 ^ k1) & M, p0 & M];
    k0 = (k0 + 0x9e3779b9n) & M;
    k1 = (k1 + 0xbb67ae85n) & M;
  }
  return [c0, c1, c2, c3].map(Number);
}

/** Per-row float64 loss and dloss/dp (unscaled by the batch mean) of one loss kind. */
function rowLoss(kind: Loss, p: Float32Array, y: Float32Array | null, label: number, delta: number): { l: number; g: number[] } {
  const k = p.length;
  const g = new Array<number>(k).fill(0);
  let l = 0;
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  if (kind === 'cceLogits' || kind === 'sparseCceLogits') {
    const m = Math.max(...p);
    const s = p.reduce((a, z) => a + Math.exp(z - m), 0);
    const lse = m + Math.log(s);
    const t = kind === 'cceLogits' ? Array.from(y!) : Array.from({ length: k }, (_, j) => (j === label ? 1 : 0));
    const ts = t.reduce((a, b) => a + b, 0);
    for (let j = 0; j < k; j++) {
      l += t[j] * (lse - p[j]);
      g[j] = (Math.exp(p[j] - lse) * ts - t[j]) * k; // per element of the mean over rows (not rows * k)
    }
    return { l: l * k, g };
  }
  if (kind === 'cce' || kind === 'sparseCce') {
    const t = kind === 'cce' ? Array.from(y!) : Array.from({ length: k }, (_, j) => (j === label ? 1 : 0));
    for (let j = 0; j < k; j++) {
      if (t[j] === 0) continue;
      const q = Math.max(p[j], EPS);
      l -= t[j] * Math.log(q);
      g[j] = (-t[j] / q) * k;
    }
    return { l: l * k, g };
  }
  for (let j = 0; j < k; j++) {
    const e = p[j] - y![j];
    if (kind === 'mse') {
      l += e * e;
      g[j] = 2 * e;
    } else if (kind === 'mae') {
      l += Math.abs(e);
      g[j] = Math.sign(e);
    } else if (kind === 'huber') {
      const a = Math.abs(e);
      l += a <= delta ? 0.5 * e * e : delta * (a - 0.5 * delta);
      g[j] = a <= delta ? e : Math.sign(e) * delta;
    } else if (kind === 'bce') {
      const q = Math.min(Math.max(p[j], EPS), 1 - EPS);
      l -= y![j] * Math.log(q) + (1 - y![j]) * Math.log(1 - q);
      g[j] = (q - y![j]) / (q * (1 - q));
    } else {
      const z = p[j];
      l += Math.max(z, 0) - z * y![j] + Math.log1p(Math.exp(-Math.abs(z)));
      g[j] = sig(z) - y![j];
    }
  }
  return { l, g };
}

describeVariants('engine loop slots', () => {
  for (const useRef of [false, true]) {
    const variant = useRef ? '_ref' : 'fast';
    for (const kind of LOSSES) {
      for (const weighted of [false, true]) {
        it.each(SHAPES.filter(([, k]) => !kind.toLowerCase().includes('cce') || k > 1))(
          `${variant}: ${kind}${weighted ? ' weighted' : ''} loss and gradient match float64 on [%i, %i]`,
          (rows, k) => {
            const rng = makeRng();
            const probs = kind === 'bce' || kind === 'cce' || kind === 'sparseCce';
            const p = probs ? randUniform(rows * k, 0.49, 0.5, rng) : randNormal(rows * k, 2, 0, rng);
            let y: Float32Array | null = null;
            if (kind === 'cce' || kind === 'cceLogits') {
              y = new Float32Array(rows * k);
              for (let r = 0; r < rows; r++) y[r * k + rng.int(k)] = 1;
            } else if (!kind.startsWith('sparse')) {
              y = kind.startsWith('bce') ? Float32Array.from(randUniform(rows * k, 1, 0, rng), (v) => (v > 0.5 ? 1 : 0)) : randNormal(rows * k, 1, 0, rng);
            }
            const labels = Int32Array.from({ length: rows }, () => rng.int(k));
            const w = weighted ? randUniform(rows, 1, 1, rng) : null;
            const delta = 0.7;
            const [pb, yb, lb, wb, gb, ob] = [nbuf(p), y ? nbuf(y) : null, nbuf(bits(labels)), w ? nbuf(w) : null, nbuf(rows * k), nbuf(5)];
            call('loop_loss_f32', useRef, [pb, yb, lb, wb, gb, ob], [rows, k, LOSSES.indexOf(kind)], [delta]);
            let loss = 0;
            const grad = new Float64Array(rows * k);
            for (let r = 0; r < rows; r++) {
              const { l, g } = rowLoss(kind, p.subarray(r * k, r * k + k), y ? y.subarray(r * k, r * k + k) : null, labels[r], delta);
              const wr = w ? w[r] : 1;
              loss += (wr * l) / (rows * k);
              for (let j = 0; j < k; j++) grad[r * k + j] = (wr * g[j]) / (rows * k);
            }
            const out = read(ob, 5);
            expect(relErr([out[0]], [loss], 1e-6)).toBeLessThan(2e-6);
            expect(Array.from(out.subarray(1))).toEqual([0, 0, 0, 0]);
            const gs = Math.sqrt(grad.reduce((a, v) => a + v * v, 0)) || 1e-6;
            expect(relErr(read(gb, rows * k), grad, gs * 1e-3)).toBeLessThan(1e-5);
          },
        );
      }
    }
  }

  it('rejects labels outside [0, k) and bad weights with the row that has them', () => {
    const [rows, k] = [5, 3];
    const labels = Int32Array.from([0, 1, 2, 3, 0]);
    const p = randNormal(rows * k);
    expect(() => call('loop_loss_f32', false, [nbuf(p), null, nbuf(bits(labels)), null, null, nbuf(5)], [rows, k, 6], [1])).toThrow(
      'Expected a class label in [0, 3) for row 3 but received 3',
    );
    const w = Float32Array.from([1, 1, -1, 1, 1]);
    const y = randNormal(rows * k);
    expect(() => call('loop_loss_f32', false, [nbuf(p), nbuf(y), null, nbuf(w), null, nbuf(5)], [rows, k, 0], [1])).toThrow(
      /^Expected finite sample weights >= 0 but received -1\.0+ for row 2$/,
    );
  });

  it.each(SHAPES.filter(([, k]) => k > 1))('metric sums match float64 on [%i, %i]', (rows, k) => {
    const rng = makeRng();
    const p = randNormal(rows * k, 1, 0, rng);
    const q = randUniform(rows * k, 1, 0, rng);
    const labels = Int32Array.from({ length: rows }, () => rng.int(k));
    const y = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) y[r * k + labels[r]] = 1;
    const argmax = (a: Float32Array, r: number) => {
      let b = 0;
      for (let j = 1; j < k; j++) if (a[r * k + j] > a[r * k + b]) b = j;
      return b;
    };
    const metric = (kind: number, sigmoid: boolean, thr: number, withLabels: boolean, n: number) => {
      const ob = nbuf(n);
      call('loop_metric_f32', false, [nbuf(p), nbuf(q), withLabels ? null : nbuf(y), withLabels ? nbuf(bits(labels)) : null, ob], [rows, k, kind, sigmoid ? 1 : 0], [thr]);
      return read(ob, n);
    };
    let acc = 0;
    for (let r = 0; r < rows; r++) acc += argmax(p, r) === labels[r] ? 1 : 0;
    expect(metric(2, false, 0.5, true, 1)[0]).toBe(acc);
    expect(metric(1, false, 0.5, false, 1)[0]).toBe(acc);
    let bin = 0;
    let se = 0;
    let ae = 0;
    for (let t = 0; t < rows * k; t++) {
      bin += (q[t] > 0.3) === (y[t] > 0.5) ? 1 : 0;
      const s = 1 / (1 + Math.exp(-q[t]));
      se += (s - y[t]) ** 2;
      ae += Math.abs(q[t] - y[t]);
    }
    expect(relErr([metric(0, false, 0.3, false, 1)[0]], [bin / k], 1e-6)).toBeLessThan(1e-6);
    expect(relErr([metric(3, true, 0.5, false, 1)[0]], [se / k], 1e-6)).toBeLessThan(1e-5);
    expect(relErr([metric(4, false, 0.5, false, 1)[0]], [ae / k], 1e-6)).toBeLessThan(1e-5);
    // Confusion counts of precision/recall/F1: [k, 0, tp[k], fp[k], fn[k]].
    const conf = new Array<number>(2 + 3 * k).fill(0);
    conf[0] = k;
    for (let r = 0; r < rows; r++) {
      const pr = argmax(p, r);
      if (pr === labels[r]) conf[2 + pr]++;
      else {
        conf[2 + k + pr]++;
        conf[2 + 2 * k + labels[r]]++;
      }
    }
    expect(Array.from(metric(7, false, 0.5, true, 2 + 3 * k))).toEqual(conf);
    // R2 statistics per column.
    const r2 = new Float64Array(2 + 3 * k);
    r2[0] = k;
    for (let t = 0; t < rows * k; t++) {
      const j = t % k;
      r2[2 + j] += y[t];
      r2[2 + k + j] += y[t] * y[t];
      r2[2 + 2 * k + j] += (y[t] - q[t]) ** 2;
    }
    expect(relErr(metric(6, false, 0.5, false, 2 + 3 * k), r2, 1e-6)).toBeLessThan(1e-6);
  });

  for (const useRef of [false, true]) {
    it.each([[1, 1], [7, 13], [9, 16], [5, 17], [300, 129], [1024, 3]])(`${useRef ? '_ref' : 'fast'}: gathers rows exactly (n %i, cols %i)`, (n, cols) => {
      const rng = makeRng();
      const rowsIn = n + 5;
      const src = randNormal(rowsIn * cols, 1, 0, rng);
      const idx = Uint32Array.from({ length: n }, () => rng.int(rowsIn));
      const dst = nbuf(n * cols);
      call('loop_gather_rows_f32', useRef, [nbuf(src), nbuf(bits(idx)), dst], [cols, n]);
      const want = new Float32Array(n * cols);
      for (let r = 0; r < n; r++) want.set(src.subarray(idx[r] * cols, idx[r] * cols + cols), r * cols);
      expect(Array.from(read(dst, n * cols))).toEqual(Array.from(want));
    });
  }

  it.each([1, 17, 1000])('hypergradient direction and its squared norm match float64 (n %i)', (n) => {
    const rng = makeRng();
    const old = randNormal(n, 1, 0, rng);
    const param = randNormal(n, 1, 0, rng);
    const inv = 37.5;
    const [db, ob] = [nbuf(n), nbuf(1)];
    call('loop_hyper_direction_f32', false, [nbuf(old), nbuf(param), db, ob], [n], [inv]);
    const dir = Array.from(old, (o, i) => (o - param[i]) * inv);
    expect(relErr(read(db, n), dir, 1e-6)).toBeLessThan(1e-6);
    expect(relErr([read(ob, 1)[0]], [dir.reduce((a, d) => a + d * d, 0)], 1e-6)).toBeLessThan(1e-6);
  });

  it('dropout draws are the Philox stream keyed from the given state, which advances two xoshiro128** steps', () => {
    const rng = makeRng();
    const G = 40; // guard floats past n, which the fill must leave alone
    for (const n of [0, 1, 3, 4, 32, 35, 37, 1031]) {
      const s = Uint32Array.from({ length: 4 }, () => (rng.next() * 2 ** 32) >>> 0);
      for (const useRef of [false, true]) {
        const st = nbuf(bits(s));
        const out = nbuf(new Float32Array(n + G).fill(-1));
        call('loop_uniform_f32', useRef, [st, out], [n]);
        // The key (engine/rng.h take_philox_key), then two xoshiro128** (Blackman & Vigna) steps.
        const b = (v: number) => BigInt(v >>> 0);
        const key = (((b(s[0]) << 32n) | b(s[1])) ^ (((b(s[2]) << 32n) | b(s[3])) * 0x9e3779b97f4a7c15n)) & 0xffffffffffffffffn;
        const x = Uint32Array.from(s);
        const rotl = (v: number, k: number) => ((v << k) | (v >>> (32 - k))) >>> 0;
        for (let i = 0; i < 2; i++) {
          const t = (x[1] << 9) >>> 0;
          x[2] ^= x[0];
          x[3] ^= x[1];
          x[1] ^= x[2];
          x[0] ^= x[3];
          x[2] ^= t;
          x[3] = rotl(x[3], 11);
        }
        // Draw i: word i % 4 of Philox4x32-10(counter i / 4, key), as (word >>> 8) / 2^24.
        const want = new Float32Array(n);
        for (let q = 0; q * 4 < n; q++) {
          const w = philox4x32(q, key);
          for (let k = 0; k < 4 && q * 4 + k < n; k++) want[q * 4 + k] = (w[k] >>> 8) / 16777216;
        }
        const all = read(out, n + G);
        expect(Array.from(all.subarray(0, n))).toEqual(Array.from(want));
        expect(Array.from(all.subarray(n))).toEqual(new Array(G).fill(-1));
        expect(Array.from(new Uint32Array(Float32Array.from(read(st, 4)).buffer))).toEqual(Array.from(x));
      }
    }
  });
});
