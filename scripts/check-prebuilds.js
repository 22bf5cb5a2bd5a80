#!/usr/bin/env node
'use strict';
/**
 * Run by `prepublishOnly`: refuses to publish a package without its prebuilt linux-x64 binary, or
 * with a Linux binary that would not load on the oldest supported glibc (2.28: Debian 10, RHEL 8,
 * Ubuntu 20.04 and up) or that needs the C++ runtime of the machine that built it.
 *
 *   node scripts/check-prebuilds.js [--max-glibc 2.28]
 */
const fs = require('fs');
const path = require('path');
const { portability } = require('./check-binary');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const maxGlibc = args[0] === '--max-glibc' ? args[1] : '2.28';
const prebuilds = path.join(root, 'prebuilds');
const problems = [];

const required = ['linux-x64'];
for (const dir of required) {
  const d = path.join(prebuilds, dir);
  const files = fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.node')) : [];
  if (!files.some((f) => /\.glibc\.node$/.test(f))) {
    problems.push(`Expected a glibc-tagged prebuilt binary for prebuilds/${dir} but received ${files.length ? files.join(', ') : 'none'} (run \`npm run prebuild\`, see README "Install and platforms")`);
  }
}
for (const dir of fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds) : []) {
  if (!dir.startsWith('linux-')) continue;
  for (const f of fs.readdirSync(path.join(prebuilds, dir)).filter((n) => n.endsWith('.node'))) {
    const file = path.join(prebuilds, dir, f);
    if (/\.musl\.node$/.test(f)) continue; // musl binaries carry no glibc versions
    const p = portability(file, maxGlibc);
    for (const c of p.cxx) problems.push(`Expected no C++ runtime need for prebuilds/${dir}/${f} but received ${c}`);
    for (const g of p.glibc) problems.push(`Expected glibc <= ${maxGlibc} for prebuilds/${dir}/${f} but received GLIBC_${g.version} (${g.symbols.join(', ')})`);
    for (const w of p.wraps) problems.push(`Expected every wrapped symbol defined in prebuilds/${dir}/${f} but received an unresolved ${w} (native/cpu/glibc_compat.cc)`);
  }
}
if (problems.length) {
  console.error(`Refusing to publish:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('prebuilt binaries: ok');
