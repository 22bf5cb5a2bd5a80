/**
 * The dropout draws' generator on both devices (native/kernels/philox.h: Philox4x32-10 and the
 * draw-stream layout of the CPU's uniform slot and the CUDA dropout kernels), on the host: the header is plain C++, compiled here into a small
 * program. Checked against Random123's published known-answer vectors, against an independent
 * BigInt implementation in this file on random counters and keys, and for the layout: a launch of
 * n draws from any offset writes each output once, with draw offset + i of the stream. No GPU needed.
 */
import * as path from 'path';
import { runHostProgram } from '../helpers/host-cxx';
import { makeRng } from '../helpers/numerics';

const root = path.join(__dirname, '..', '..');
const header = path.join(root, 'native', 'kernels', 'philox.h');

// Random123 tests/kat_vectors, philox4x32 with 10 rounds: counter, key, result.
const KAT: Array<[number[], number[], number[]]> = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

// An independent Philox4x32-10 (BigInt products), for random counters and keys.
function philoxRef(ctr: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = ctr.map((v) => BigInt(v >>> 0));
  let k0 = BigInt(key[0] >>> 0), k1 = BigInt(key[1] >>> 0);
  const M = 0xffffffffn;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c0, p1 = 0xcd9e8d57n * c2;
    const n0 = ((p1 >> 32n) ^ c1 ^ k0) & M, n1 = p1 & M, n2 = ((p0 >> 32n) ^ c3 ^ k1) & M, n3 = p0 & M;
    [c0, c1, c2, c3] = [n0, n1, n2, n3];
    k0 = (k0 + 0x9e3779b9n) & M;
    k1 = (k1 + 0xbb67ae85n) & M;
  }
  return [c0, c1, c2, c3].map(Number);
}

const rng = makeRng(424242);
const r = () => Math.floor(rng.next() * 2 ** 32) >>> 0;
const randomCases: Array<[number[], number[]]> = Array.from({ length: 40 }, () => [[r(), r(), r(), r()], [r(), r()]]);
// [n, offset, seed as two 32-bit halves]: offsets on and off the groups of four, counters past 2^32
const layoutCases: Array<[number, string, number, number]> = [
  [1, '0', 1, 2], [4, '0', 3, 4], [5, '1', 5, 6], [13, '2', 7, 8], [17, '3', 9, 10], [64, '7', 0, 0],
  [9, '17179869190', 0xdeadbeef, 0x12345678], [3, '18446744073709551613', 11, 12],
];

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}u`;
}

function runProgram(): string[] {
  const all = [...KAT.map(([c, k]) => [c, k]), ...randomCases];
  const lines = [
    '#include <cstdio>',
    '#include <vector>',
    `#include ${JSON.stringify(header)}`,
    'using namespace nt;',
    'int main() {',
    ...all.map(([c, k]) => `  { U4 o = philox4x32_10(U4{${c.map(hex).join(', ')}}, ${hex(k[0])}, ${hex(k[1])}); std::printf("px %u %u %u %u\\n", o.x, o.y, o.z, o.w); }`),
    // the seeded 64-bit form: counter in the low words, seed as the key
    '  { U4 o = philox(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull); std::printf("seeded %u %u %u %u\\n", o.x, o.y, o.z, o.w); }',
    ...layoutCases.map(([n, off, s0, s1]) => `  {
    const int64_t n = ${n}; const uint64_t off = ${off}ull, seed = (uint64_t(${hex(s1)}) << 32) | ${hex(s0)};
    std::vector<int> hits(n, 0); int bad = 0;
    for (int64_t q = 0; q < philox_groups(n, off); ++q) {
      const U4 r = philox(seed, philox_counter(q, off));
      for (int k = 0; k < 4; ++k) {
        const int64_t i = philox_out_index(q, k, off);
        if (i < 0 || i >= n) continue;
        hits[i]++;
        const uint64_t j = off + uint64_t(i);  // the stream's draw for output i, straight from the definition
        if (to_unit(philox_word(r, k)) != to_unit(philox_word(philox(seed, j / 4), int(j % 4)))) bad++;
      }
    }
    int once = 0; for (int h : hits) once += h == 1;
    std::printf("layout %lld %d %d %lld\\n", (long long)n, once, bad, (long long)philox_groups(n, off));
  }`),
    '  { double s = 0; float lo = 1, hi = 0; for (uint32_t v = 0; v < 400000; ++v) { const float u = to_unit(philox_word(philox(7, v / 4), int(v % 4))); s += u; if (u < lo) lo = u; if (u > hi) hi = u; }',
    '    std::printf("unit %.6f %.17g %.17g %.17g %.17g\\n", s / 400000, lo, hi, to_unit(0xffffffffu), to_unit(0xffu)); }',
    '  return 0;',
    '}',
  ];
  return runHostProgram(lines);
}

describe('Philox4x32-10 and the dropout draw stream (host)', () => {
  const out = runProgram();
  const words = (line: string) => line.split(' ').slice(1).map(Number);

  it("matches Random123's known-answer vectors", () => {
    KAT.forEach(([, , want], i) => expect(words(out[i])).toEqual(want));
  });

  it('matches an independent implementation on random counters and keys', () => {
    randomCases.forEach(([c, k], i) => expect(words(out[KAT.length + i])).toEqual(philoxRef(c, k)));
  });

  it('keys the 64-bit form with the seed and counts in the low two words', () => {
    const line = out.find((l) => l.startsWith('seeded '))!;
    expect(words(line)).toEqual(philoxRef([0x243f6a88, 0x85a308d3, 0, 0], [0xa4093822, 0x299f31d0]));
  });

  it('writes every output of a launch once, with draw offset + i, from any offset', () => {
    const lines = out.filter((l) => l.startsWith('layout '));
    expect(lines.length).toBe(layoutCases.length);
    layoutCases.forEach(([n, off], c) => {
      const [nn, once, bad, groups] = words(lines[c]);
      expect([nn, once, bad]).toEqual([n, n, 0]);
      expect(groups).toBe(Math.ceil((n + Number(BigInt(off) % 4n)) / 4));
    });
  });

  it('maps words to [0, 1) with 24 bits, mean 1/2', () => {
    const [mean, lo, hi, top, low8] = words(out.find((l) => l.startsWith('unit '))!);
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / 400000)); // 4 sigma
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(top).toBe(1 - 2 ** -24);
    expect(low8).toBe(0); // the low 8 bits are dropped
  });
});
