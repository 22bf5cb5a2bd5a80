#!/usr/bin/env node
// Lists the addon's C++ sources for binding.gyp and CMakeLists.txt, so both build paths compile
// exactly the same files. Usage: node scripts/list-sources.js core|avx2 [--sep=;]
// core: native/{cpu,kernels,engine,engine/ops,binding}/*.cc (new files in these folders, such as
// an op or a kernel that registers itself, need no edit here or in the build files); avx2: native/cpu/x86/*.cc (built with -mavx2 -mfma);
// avx512: native/cpu/avx512/*.cc (built with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma);
// bench: native/bench/*.cc (only in the bench addon, scripts/bench/native/binding.gyp).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const groups = {
  core: ['native/cpu', 'native/kernels', 'native/engine', 'native/engine/ops', 'native/binding'],
  avx2: ['native/cpu/x86'],
  avx512: ['native/cpu/avx512'],
  bench: ['native/bench'],
};
const which = process.argv[2];
if (!groups[which]) {
  process.stderr.write(`Expected core, avx2, avx512 or bench for the source group but received ${which}\n`);
  process.exit(2);
}
const sepArg = process.argv.find((a) => a.startsWith('--sep='));
const sep = sepArg ? sepArg.slice(6) : ' ';
const prefixArg = process.argv.find((a) => a.startsWith('--prefix='));
const prefix = prefixArg ? prefixArg.slice(9) : '';
const files = [];
for (const dir of groups[which]) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) continue;
  for (const f of fs.readdirSync(abs).sort()) {
    if (f.endsWith('.cc')) files.push(`${prefix}${dir}/${f}`);
  }
}
process.stdout.write(files.join(sep));
