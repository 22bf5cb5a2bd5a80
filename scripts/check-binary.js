#!/usr/bin/env node
'use strict';
/**
 * What a Linux ELF binary (a built nodetrain.node) needs from the system: its DT_NEEDED libraries
 * and the symbol versions it binds to (.gnu.version_r, with the symbol behind each version). Read
 * with a small ELF64 reader, so it works where binutils are missing.
 *
 *   node scripts/check-binary.js [--max-glibc 2.28] file.node...
 *
 * prints the needs and exits 1 when a file needs libstdc++ or libgcc_s (GLIBCXX_*, CXXABI_*,
 * GCC_*: link with -static-libstdc++ -static-libgcc), a GLIBC version above --max-glibc (2.28 unless
 * told otherwise; native/cpu/glibc_compat.cc pins or replaces the symbols a newer glibc would
 * bring), or leaves a `ld --wrap` symbol (__wrap_*, __real_*) unresolved.
 */
const fs = require('fs');

const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const DT_NEEDED = 1;

function cstr(buf, off) {
  let end = off;
  while (end < buf.length && buf[end] !== 0) end++;
  return buf.toString('latin1', off, end);
}

/**
 * @param {string} file
 * @returns {{ needed: string[], versions: { file: string, version: string, symbols: string[] }[], undefined: string[] }}
 */
function readNeeds(file) {
  const b = fs.readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`Expected an ELF file for ${file} but received something else`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`Expected a little-endian 64-bit ELF file for ${file} but received class ${b[4]}, data ${b[5]}`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 24)),
      size: Number(b.readBigUInt64LE(o + 32)),
      link: b.readUInt32LE(o + 40),
      info: b.readUInt32LE(o + 44),
    });
  }
  const needed = [];
  const dyn = sections.find((s) => s.type === SHT_DYNAMIC);
  if (dyn) {
    const str = sections[dyn.link].offset;
    for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.size; o += 16) {
      const tag = b.readBigInt64LE(o);
      if (tag === 0n) break;
      if (tag === BigInt(DT_NEEDED)) needed.push(cstr(b, str + Number(b.readBigUInt64LE(o + 8))));
    }
  }
  // Version index -> { file, version }.
  const byIndex = new Map();
  const vn = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (vn) {
    const str = sections[vn.link].offset;
    let o = vn.offset;
    for (let n = 0; n < vn.info; n++) {
      const cnt = b.readUInt16LE(o + 2);
      const lib = cstr(b, str + b.readUInt32LE(o + 4));
      let a = o + b.readUInt32LE(o + 8);
      for (let k = 0; k < cnt; k++) {
        const other = b.readUInt16LE(a + 6);
        byIndex.set(other, { file: lib, version: cstr(b, str + b.readUInt32LE(a + 8)), symbols: [] });
        a += b.readUInt32LE(a + 12);
      }
      const next = b.readUInt32LE(o + 12);
      if (!next) break;
      o += next;
    }
  }
  const undefined = [];
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  if (dynsym && versym) {
    const str = sections[dynsym.link].offset;
    const count = dynsym.size / 24;
    for (let i = 1; i < count; i++) {
      const idx = b.readUInt16LE(versym.offset + 2 * i) & 0x7fff;
      const need = byIndex.get(idx);
      const shndx = b.readUInt16LE(dynsym.offset + 24 * i + 6);
      if (shndx !== 0) continue;
      const name = cstr(b, str + b.readUInt32LE(dynsym.offset + 24 * i));
      undefined.push(name);
      if (need) need.symbols.push(name);
    }
  }
  return { needed, versions: [...byIndex.values()], undefined };
}

/** "2.28" -> [2, 28]; compares dotted versions numerically. */
function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d) return d;
  }
  return 0;
}

/**
 * Problems that make the binary unportable: C++ runtime needs, glibc versions above maxGlibc, and
 * `ld --wrap` symbols left to the dynamic linker (a --wrap flag without its __wrap_ definition).
 * @returns {{ cxx: string[], glibc: { version: string, symbols: string[] }[], wraps: string[], maxGlibc: string }}
 */
function portability(file, maxGlibc = '2.28') {
  const { needed, versions, undefined } = readNeeds(file);
  const cxx = [
    ...needed.filter((n) => /^lib(stdc\+\+|gcc_s|c\+\+)\b/.test(n)).map((n) => `NEEDED ${n}`),
    ...versions.filter((v) => /^(GLIBCXX|CXXABI|GCC)_/.test(v.version)).map((v) => `${v.version} (${v.symbols.join(', ')})`),
  ];
  let highest = '0';
  const glibc = [];
  for (const v of versions) {
    const m = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(v.version);
    if (!m) continue;
    if (compareVersions(m[1], highest) > 0) highest = m[1];
    if (compareVersions(m[1], maxGlibc) > 0) glibc.push({ version: m[1], symbols: v.symbols });
  }
  glibc.sort((a, b) => compareVersions(a.version, b.version));
  const wraps = undefined.filter((n) => /^__(wrap|real)_/.test(n));
  return { cxx, glibc, wraps, maxGlibc: highest };
}

module.exports = { readNeeds, portability, compareVersions };

if (require.main === module) {
  const args = process.argv.slice(2);
  let max = '2.28';
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--max-glibc') max = args[++i];
    else files.push(args[i]);
  }
  if (!files.length) {
    console.error('usage: node scripts/check-binary.js [--max-glibc 2.28] file.node...');
    process.exit(2);
  }
  let bad = false;
  for (const f of files) {
    const p = portability(f, max);
    console.log(`${f}: needs glibc ${p.maxGlibc}`);
    for (const c of p.cxx) console.log(`  C++ runtime: ${c}`);
    for (const g of p.glibc) console.log(`  GLIBC_${g.version} > ${max}: ${g.symbols.join(', ')}`);
    for (const w of p.wraps) console.log(`  unresolved wrapper: ${w} (see native/cpu/glibc_compat.cc)`);
    if (p.cxx.length || p.glibc.length || p.wraps.length) bad = true;
  }
  process.exit(bad ? 1 : 0);
}
