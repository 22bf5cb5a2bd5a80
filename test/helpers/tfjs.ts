/**
 * The real TensorFlow.js (tfjs-layers 4.22 on the CPU backend, devDependencies) for parity tests:
 * write a tfjs model to a folder as a layers-model (optionally quantised like
 * tensorflowjs_converter, split into several groups and shards), load a folder back through tfjs's
 * own artefact reader, and predict.
 */
import * as fs from 'fs';
import * as path from 'path';

/* eslint-disable @typescript-eslint/no-var-requires, @typescript-eslint/no-explicit-any */
export const tf: any = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
export const tl: any = require('@tensorflow/tfjs-layers');

let ready: Promise<void> | null = null;
/** Selects the CPU backend once (and silences tfjs's notice about tfjs-node). */
export function tfReady(): Promise<void> {
  if (!ready) {
    tf.env().set('IS_NODE', false);
    ready = tf.setBackend('cpu').then(() => undefined);
  }
  return ready!;
}

/** IEEE half-precision bits of a float32 value, rounded to nearest even. */
function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  e = h;
  return sign | e;
}

export interface WriteOptions {
  quantize?: 'uint8' | 'uint16' | 'float16';
  /** Weights per group (default: all in one group). */
  perGroup?: number;
  /** Bytes per shard (default 4 MiB). */
  shardBytes?: number;
}

/** Writes a tfjs model into dir as model.json plus shards. */
export async function writeTfjs(model: any, dir: string, opts: WriteOptions = {}): Promise<void> {
  let art: any;
  await model.save(tf.io.withSaveHandler(async (a: any) => {
    art = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  fs.mkdirSync(dir, { recursive: true });
  const all = new Float32Array(art.weightData);
  const specs: any[] = art.weightSpecs;
  let off = 0;
  const encoded: { spec: any; bytes: Uint8Array }[] = specs.map((s) => {
    const n = s.shape.reduce((a: number, b: number) => a * b, 1);
    const w = all.subarray(off, off + n);
    off += n;
    if (!opts.quantize) return { spec: { ...s }, bytes: new Uint8Array(w.slice().buffer) };
    if (opts.quantize === 'float16') {
      const h = Uint16Array.from(w, toHalf);
      return { spec: { ...s, quantization: { dtype: 'float16' } }, bytes: new Uint8Array(h.buffer) };
    }
    // tensorflowjs_converter's affine rule: scale = (max - min) / (2^bits - 1), q = round((w - min) / scale).
    const levels = opts.quantize === 'uint8' ? 255 : 65535;
    let min = Infinity;
    let max = -Infinity;
    for (const x of w) {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const scale = max > min ? (max - min) / levels : 1;
    const q = opts.quantize === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
    for (let i = 0; i < n; i++) q[i] = Math.min(levels, Math.max(0, Math.round((w[i] - min) / scale)));
    return { spec: { ...s, quantization: { dtype: opts.quantize, scale, min } }, bytes: new Uint8Array(q.buffer) };
  });
  const per = opts.perGroup ?? encoded.length;
  const shardBytes = opts.shardBytes ?? 4 * 1024 * 1024;
  const manifest: any[] = [];
  for (let g = 0; g * per < encoded.length; g++) {
    const part = encoded.slice(g * per, (g + 1) * per);
    const total = part.reduce((s, e) => s + e.bytes.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const e of part) {
      buf.set(e.bytes, o);
      o += e.bytes.length;
    }
    const shards = Math.max(1, Math.ceil(total / shardBytes));
    const paths: string[] = [];
    for (let s = 0; s < shards; s++) {
      const name = `group${g + 1}-shard${s + 1}of${shards}.bin`;
      fs.writeFileSync(path.join(dir, name), buf.subarray(s * shardBytes, Math.min(total, (s + 1) * shardBytes)));
      paths.push(name);
    }
    manifest.push({ paths, weights: part.map((e) => e.spec) });
  }
  const json = { format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers', convertedBy: null, modelTopology: art.modelTopology, weightsManifest: manifest };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
}

/** Loads a layers-model folder with tf.loadLayersModel through tfjs's own artefact reader. */
export async function readTfjs(dir: string): Promise<any> {
  const handler = {
    load: async () => {
      const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(mj, async (manifest: any[]) => {
        const specs: any[] = [];
        const bufs: Buffer[] = [];
        for (const g of manifest) {
          specs.push(...g.weights);
          for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
        }
        const b = Buffer.concat(bufs);
        return [specs, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)];
      });
    },
  };
  return tl.loadLayersModel(handler);
}

/** tfjs predictions as a Float32Array. */
export function tfPredict(model: any, x: Float32Array, rows: number, cols: number): Float32Array {
  const t = tf.tensor2d(x, [rows, cols]);
  const y = model.predict(t);
  const out = y.dataSync() as Float32Array;
  t.dispose();
  y.dispose();
  return Float32Array.from(out);
}

/** ||a - b|| / ||b||. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/** Fresh random weights for every variable of a tfjs model (moving variances positive). */
export function randomizeTfjs(model: any, rnd: () => number): void {
  const ws = model.weights.map((w: any) => {
    const n = w.shape.reduce((a: number, b: number) => a * b, 1);
    const pos = /moving_variance|gamma/.test(w.originalName ?? w.name);
    const d = Float32Array.from({ length: n }, () => (pos ? 0.5 + rnd() : rnd() * 2 - 1));
    return tf.tensor(d, w.shape);
  });
  model.setWeights(ws);
}
