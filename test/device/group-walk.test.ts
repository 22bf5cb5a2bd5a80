/**
 * The fused optimizer step's walk over the parameter arena (native/cuda/group_walk.h), on the
 * host: the header is plain C++, compiled here into a program that runs the kernel's grid-stride
 * loop for every thread of a small grid over random group layouts (gaps for frozen ranges, empty
 * groups, boundaries off the four-element chunks, arenas that start past 0) and prints, per element,
 * how it was visited. This file checks the visits against the groups it drew. No GPU needed.
 */
import * as path from 'path';
import { runHostProgram } from '../helpers/host-cxx';
import { makeRng } from '../helpers/numerics';

const root = path.join(__dirname, '..', '..');
const header = path.join(root, 'native', 'cuda', 'group_walk.h');

type Case = { w: 1 | 4; threads: number; groups: Array<[number, number]>; span: number };

// Seeded, so a failure names a layout that can be rebuilt.
function drawCases(seed: number): Case[] {
  const r = makeRng(seed).next;
  const cases: Case[] = [];
  // hand-picked edges first: one element; one group exactly on chunks; a group ending mid-chunk;
  // an empty group between two; a gap inside one chunk
  cases.push({ w: 4, threads: 3, groups: [[0, 1]], span: 4 });
  cases.push({ w: 4, threads: 5, groups: [[0, 16]], span: 16 });
  cases.push({ w: 4, threads: 2, groups: [[3, 9]], span: 12 });
  cases.push({ w: 4, threads: 7, groups: [[0, 6], [6, 6], [6, 13]], span: 16 });
  cases.push({ w: 4, threads: 4, groups: [[1, 2], [3, 5]], span: 8 });
  cases.push({ w: 1, threads: 3, groups: [[2, 7], [9, 9], [11, 12]], span: 12 });
  for (let c = 0; c < 60; c++) {
    const ngroups = 1 + Math.floor(r() * 6);
    const groups: Array<[number, number]> = [];
    let at = Math.floor(r() * 9);
    for (let g = 0; g < ngroups; g++) {
      if (r() < 0.4) at += Math.floor(r() * 7); // a frozen gap
      const len = r() < 0.15 ? 0 : 1 + Math.floor(r() * 40);
      groups.push([at, at + len]);
      at += len;
    }
    cases.push({ w: r() < 0.75 ? 4 : 1, threads: 1 + Math.floor(r() * 12), groups, span: at + 8 });
  }
  return cases;
}

function runProgram(cases: Case[]): string[] {
  const body = cases.map((c, idx) => {
    const gs = c.groups.map(([b, e]) => `{${b}, ${e}}`).join(', ');
    return `  {
    const G groups[] = {${gs}};
    const int ng = ${c.groups.length};
    std::vector<int> visits(${c.span}, 0), whole(${c.span}, 0), group_of(${c.span}, -1);
    const ChunkRange cr = chunks_covering<${c.w}>(groups[0].begin, groups[ng - 1].end);
    for (int t = 0; t < ${c.threads}; ++t) {  // each thread of the grid, its own forward-moving group
      int grp = 0;
      for (int64_t q = cr.first + t; q < cr.last; q += ${c.threads})
        walk_chunk<${c.w}>(groups, ng, q, &grp,
          [&](int k, int64_t i) { for (int e = 0; e < ${c.w}; ++e) { visits[i + e]++; whole[i + e] = 1; group_of[i + e] = k; } },
          [&](int k, int64_t i) { visits[i]++; group_of[i] = k; });
    }
    std::printf("case ${idx}");
    for (int i = 0; i < ${c.span}; ++i) std::printf(" %d:%d:%d", visits[i], whole[i], group_of[i]);
    std::printf("\\n");
  }`;
  });
  const lines = [
    '#include <cstdio>',
    '#include <vector>',
    `#include ${JSON.stringify(header)}`,
    'using namespace nt::cuda;',
    'struct G { int64_t begin, end; };',
    'int main() {',
    ...body,
    '  return 0;',
    '}',
  ];
  return runHostProgram(lines);
}

describe('fused optimizer step: the walk over the parameter arena (host)', () => {
  const cases = drawCases(20261201);
  const out = runProgram(cases);

  it('visits every element of every group exactly once, in its own group, and nothing else', () => {
    expect(out.length).toBe(cases.length);
    cases.forEach((c, idx) => {
      const cells = out[idx].split(' ').slice(2).map((s) => s.split(':').map(Number));
      expect(cells.length).toBe(c.span);
      for (let i = 0; i < c.span; i++) {
        const owner = c.groups.findIndex(([b, e]) => i >= b && i < e);
        const [visits, , group] = cells[i];
        if (visits !== (owner >= 0 ? 1 : 0) || group !== owner) {
          throw new Error(`case ${idx} ${JSON.stringify(c)}: element ${i} visited ${visits} times in group ${group}, expected group ${owner}`);
        }
      }
    });
  });

  it('hands a chunk to the vector path only when all its elements lie in one group, and on chunk boundaries', () => {
    let wholeChunks = 0;
    cases.forEach((c, idx) => {
      const cells = out[idx].split(' ').slice(2).map((s) => s.split(':').map(Number));
      for (let i = 0; i < c.span; i++) {
        if (!cells[i][1]) continue;
        const q = Math.floor(i / c.w);
        const owner = c.groups.findIndex(([b, e]) => q * c.w >= b && q * c.w + c.w <= e);
        if (owner < 0) throw new Error(`case ${idx}: element ${i} went whole in a chunk that is not inside one group`);
        wholeChunks++;
      }
    });
    expect(wholeChunks).toBeGreaterThan(100); // the vector path was exercised, not only the fallback
  });
});
