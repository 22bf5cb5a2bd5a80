// Data of the training benchmark, shared by scripts/bench/train.js and its children: the seeded
// synthetic sets (iris-like classes, linear regression), and the binary files that carry arrays to
// a child in another language (scripts/bench/train_torch.py).
//
// Digits files: [n u32][d u32][x f32 n*d][y i32 n], little-endian.
// Array files: the raw little-endian arrays back to back; their layout travels beside them as
//   { name: { offset (bytes), length (elements), dtype: 'float32' | 'int32', shape } }.
'use strict';
const fs = require('fs');

// Small seeded generator so every process draws the same synthetic data.
function rng(seed) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

// Iris-like: 3 classes of 50, 4 features around the iris class means with their typical spread.
function irisLike() {
  const means = [
    [5.0, 3.4, 1.5, 0.2],
    [5.9, 2.8, 4.3, 1.3],
    [6.6, 3.0, 5.6, 2.0],
  ];
  const sd = [0.4, 0.3, 0.4, 0.2];
  const r = rng(7);
  const x = new Float32Array(150 * 4);
  const y = new Int32Array(150);
  for (let i = 0; i < 150; i++) {
    const c = Math.floor(i / 50);
    y[i] = c;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = means[c][j] + sd[j] * r.normal();
  }
  return { x, y };
}

function linregData() {
  const r = rng(11);
  const n = 10000;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = r.u() * 4 - 2;
    y[i] = 1.5 * x[i] - 2 + 0.1 * r.normal();
  }
  return { x, y };
}

function writeDigits(file, x, y, d) {
  const n = y.length;
  const b = Buffer.alloc(8 + x.byteLength + y.byteLength);
  b.writeUInt32LE(n, 0);
  b.writeUInt32LE(d, 4);
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(b, 8);
  Buffer.from(y.buffer, y.byteOffset, y.byteLength).copy(b, 8 + x.byteLength);
  fs.writeFileSync(file, b);
}

function readDigits(file) {
  const buf = fs.readFileSync(file);
  const n = buf.readUInt32LE(0);
  const d = buf.readUInt32LE(4);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  Buffer.from(x.buffer).set(buf.subarray(8, 8 + n * d * 4));
  Buffer.from(y.buffer).set(buf.subarray(8 + n * d * 4, 8 + n * d * 4 + n * 4));
  return { x, y, n, d };
}

// Writes { name: { data: Float32Array | Int32Array, shape } } to one file; returns its layout.
function writeArrays(file, arrays) {
  const layout = {};
  const parts = [];
  let offset = 0;
  for (const [name, { data, shape }] of Object.entries(arrays)) {
    const dtype = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : null;
    if (!dtype) throw new TypeError(`Expected a Float32Array or Int32Array for ${name} but received ${data?.constructor?.name}`);
    layout[name] = { offset, length: data.length, dtype, shape };
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  }
  fs.writeFileSync(file, Buffer.concat(parts));
  return layout;
}

module.exports = { rng, irisLike, linregData, writeDigits, readDigits, writeArrays };
