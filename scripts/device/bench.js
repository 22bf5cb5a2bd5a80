#!/usr/bin/env node
// nodetrain's CUDA timings for scripts/device/check.sh (the cudaBench entry: CUDA events, medians
// after warm-up, random data), merged with the PyTorch references (torch_bench.py's JSON) into
// one JSON and one markdown table. Usage: node bench.js torch.json out.json out.md
'use strict';
const fs = require('fs');
const path = require('path');
const nt = require(path.resolve(process.env.NODETRAIN_ADDON || path.join(__dirname, '../../build-cuda/Release/nodetrain.node')));
const [torchFile, jsonOut, mdOut] = process.argv.slice(2);
const torch = torchFile && fs.existsSync(torchFile) ? JSON.parse(fs.readFileSync(torchFile, 'utf8')) : null;
const info = nt.cudaInfo();
const res = { device: info.devices[0], cublas: info.cublas, gemm: {}, adam: {}, mlp: {}, torch };
const precs = ['fp32', 'tf32', 'bf16'];
const rows = [];
const fmt = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
for (const n of [1024, 4096, 8192]) {
  for (let p = 0; p < 3; p++) {
    const ms = nt.cudaBench('gemm', [n, n, n, p, 1]);
    const cub = info.cublas ? nt.cudaBench('gemm', [n, n, n, p, 2]) : null;
    const tms = torch?.gemm?.[`${precs[p]}_${n}`];
    const tf = (t) => (t ? (2 * n ** 3) / (t / 1000) / 1e12 : null);
    res.gemm[`${precs[p]}_${n}`] = { own_ms: ms, own_tflops: tf(ms), cublas_ms: cub, torch_ms: tms, torch_tflops: tf(tms), ratio_vs_torch: tms ? tms / ms : null };
    rows.push(`| GEMM ${precs[p]} N=${n} | ${fmt(tf(ms))} TFLOP/s (own) | ${fmt(tf(cub))} (cuBLAS via dlopen) | ${fmt(tf(tms))} (torch.mm) | ${fmt(tms ? tms / ms : null, 2)}x |`);
  }
}
const N = 100000000;
const adam = nt.cudaBench('adam', [N]);
const copy = nt.cudaBench('copy', [N]);
const bytes = 28 * N;
res.adam = { params: N, own_ms: adam, own_gbs: bytes / adam / 1e6, copy_ms: copy, copy_gbs: bytes / copy / 1e6, torch_fused_ms: torch?.adam?.torch_fused_ms, torch_copy_ms: torch?.adam?.copy_ms };
rows.push(`| fused Adam 100M params | ${fmt(res.adam.own_gbs)} GB/s (own) | ${fmt(res.adam.copy_gbs)} GB/s (copy, same bytes) | ${fmt(res.adam.torch_fused_ms ? bytes / res.adam.torch_fused_ms / 1e6 : null)} GB/s (torch fused Adam) | ${fmt(copy / adam, 2)}x of copy |`);
// The step with the project's GEMMs (impl 1) and, when cuBLAS was loaded, with cuBLAS's (impl 2:
// what the table's slots use then); everything else in the step is the same fused plan.
for (const p of [0, 1]) {
  const key = p ? 'tf32' : 'fp32';
  const eager = torch?.mlp?.[`eager_${key}_samples_per_s`], comp = torch?.mlp?.[`compile_${key}_samples_per_s`];
  res.mlp[key] = { torch_eager: eager, torch_compile: comp };
  for (const impl of info.cublas ? [1, 2] : [1]) {
    const ms = nt.cudaBench('mlp', [1024, 784, 2048, 10, p, 20, impl]);
    const rate = 1024 / (ms / 1000);
    const which = impl === 1 ? 'own' : 'cublas';
    res.mlp[key][`${which}_samples_per_s`] = rate;
    res.mlp[key][`${which}_ratio_vs_eager`] = eager ? rate / eager : null;
    rows.push(`| MLP 784-2048-2048-10 b1024 ${key} | ${fmt(rate, 0)} samples/s (plan, ${impl === 1 ? 'own GEMM' : 'cuBLAS GEMM'}) | ${fmt(eager, 0)} (torch eager) | ${fmt(comp, 0)} (torch.compile) | ${fmt(eager ? rate / eager : null, 2)}x of eager |`);
  }
}
const md = [`CUDA check on ${info.devices[0]?.name} (${info.devices[0]?.computeCapability}), torch ${torch?.torch ?? 'not run'}`, '',
  '| what | nodetrain | second | reference | ratio |', '| --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
fs.writeFileSync(jsonOut, JSON.stringify(res, null, 1));
fs.writeFileSync(mdOut, md);
console.log(md);
