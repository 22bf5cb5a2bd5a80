/**
 * The CUDA kernels' launch arithmetic (native/cuda/launch_plan.h) on the host: the header is plain
 * C++, compiled here with the host compiler into a small program that prints its answers for a list
 * of cases, checked against independent arithmetic in this file. No GPU and no CUDA build needed.
 */
import * as path from 'path';
import { runHostProgram } from '../helpers/host-cxx';

const root = path.join(__dirname, '..', '..');
const header = path.join(root, 'native', 'cuda', 'launch_plan.h');

// [m, tile] pairs: below, at and above the 65535-tile grid limit, for both tile heights.
const gemmCases: Array<[number, number]> = [
  [1, 64], [64, 64], [65535 * 64, 64], [65535 * 64 + 1, 64], [3 * 65535 * 64 + 17, 64],
  [1, 128], [65535 * 128 - 1, 128], [65535 * 128, 128], [65535 * 128 + 5, 128], [2 ** 31 - 1, 128],
];
const copyCases = [1, 2, 3, 7, 100000000, 2 ** 31 + 1];
// [m, n, multiprocessors]
const tileCases: Array<[number, number, number]> = [
  [1, 1, 132], [1024, 1024, 132], [1283, 1301, 132], [1280, 1280, 132], [1152, 1408, 132], [4096, 4096, 132],
  [128, 128, 1], [127, 1, 2], [300, 200, 4], [1 << 20, 10, 132], [127, 1 << 20, 1], [128, 1 << 20, 132],
];
// [impl (0 auto, 1 own, 2 cuBLAS), cuBLAS loaded, k]
const routeCases: Array<[number, boolean, number]> = [];
for (const impl of [0, 1, 2]) for (const loaded of [false, true]) for (const k of [0, 1, 4096]) routeCases.push([impl, loaded, k]);

function runProgram(): string[] {
  const lines = [
    '#include <cstdio>',
    `#include ${JSON.stringify(header)}`,
    'using namespace nt::cuda;',
    'int main() {',
    ...gemmCases.map(
      ([m, tile]) => `  { const long long n = gemm_row_launches(${m}LL, ${tile}LL); std::printf("gemm %lld", n);
    for (long long i = 0; i < n; ++i) { RowRange r = gemm_row_launch(${m}LL, ${tile}LL, i); std::printf(" %lld:%lld", (long long)r.begin, (long long)r.rows); }
    std::printf("\\n"); }`,
    ),
    ...copyCases.map((n) => `  std::printf("copy %llu\\n", (unsigned long long)copy_bench_bytes(${n}LL));`),
    '  std::printf("aoff %lld %lld\\n", (long long)gemm_a_row_offset(false, 7, 33), (long long)gemm_a_row_offset(true, 7, 33));',
    ...tileCases.map(([m, n, sms]) => `  std::printf("tile %lld\\n", (long long)simt_tile(${m}LL, ${n}LL, ${sms}));`),
    ...routeCases.map(([impl, loaded, k]) => `  std::printf("route %d\\n", (int)gemm_route(${impl}, ${loaded}, ${k}LL));`),
    '  return 0;',
    '}',
  ];
  return runHostProgram(lines);
}

describe('CUDA launch plan (host arithmetic)', () => {
  const out = runProgram();

  it('splits a GEMM whose row tiles exceed gridDim.y into consecutive launches that cover M once', () => {
    gemmCases.forEach(([m, tile], c) => {
      const parts = out[c].split(' ');
      expect(parts[0]).toBe('gemm');
      const n = Number(parts[1]);
      const ranges = parts.slice(2).map((p) => p.split(':').map(Number));
      expect(ranges.length).toBe(n);
      expect(n).toBe(Math.ceil(m / (65535 * tile)));
      let next = 0;
      for (const [begin, rows] of ranges) {
        expect(begin).toBe(next);
        expect(rows).toBeGreaterThan(0);
        // each launch's grid height stays within the limit
        expect(Math.ceil(rows / tile)).toBeLessThanOrEqual(65535);
        next = begin + rows;
      }
      expect(next).toBe(m);
    });
  });

  it('routes the GEMM: cuBLAS when asked or (auto) when loaded, own kernels otherwise and for k = 0, an error when cuBLAS is asked for and missing', () => {
    const routes = out.filter((l) => l.startsWith('route ')).map((l) => Number(l.split(' ')[1]));
    expect(routes.length).toBe(routeCases.length);
    routeCases.forEach(([impl, loaded, k], c) => {
      // 0 own, 1 cuBLAS, 2 cuBLAS missing
      const want = impl === 2 && !loaded ? 2 : impl === 1 || k === 0 || !loaded ? 0 : 1;
      expect([impl, loaded, k, routes[c]]).toEqual([impl, loaded, k, want]);
    });
  });

  it("picks the FP32 kernel's 128 tile only for C of 128 or more on both sides whose grid gives three quarters of the multiprocessors a block", () => {
    const tiles = out.filter((l) => l.startsWith('tile ')).map((l) => Number(l.split(' ')[1]));
    expect(tiles.length).toBe(tileCases.length);
    tileCases.forEach(([m, n, sms], c) => {
      const blocks = Math.ceil(m / 128) * Math.ceil(n / 128);
      expect([m, n, sms, tiles[c]]).toEqual([m, n, sms, m >= 128 && n >= 128 && blocks >= 0.75 * sms ? 128 : 64]);
    });
    // the parity shape meant for the 128 kernel gets it on an H200 (132 multiprocessors)
    expect(tiles[tileCases.findIndex(([m]) => m === 1283)]).toBe(128);
  });

  it("offsets op(A)'s rows by lda when A is stored as is, by one element when transposed", () => {
    expect(out.find((l) => l.startsWith('aoff '))).toBe(`aoff ${7 * 33} 7`);
  });

  it('sizes the fused-Adam copy benchmark at 3.5 n floats per buffer (28 n bytes read and written)', () => {
    copyCases.forEach((n, c) => {
      const bytes = BigInt(out[gemmCases.length + c].split(' ')[1]);
      expect(bytes * 2n).toBe(BigInt(n) * 28n); // read and written: 28 n bytes of traffic
    });
  });
});
