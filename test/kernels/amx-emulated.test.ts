/**
 * The software AMX tile unit (native/cpu/avx512/amx_emulated.h) and the AMX bf16 GEMM run on it
 * (the setAmxEmulation test hook).
 *
 * 1. The tile model against the Intel SDM's definitions (TDPBF16PS, TILELOADD, TILESTORED,
 *    LDTILECFG, TILEZERO, TILERELEASE) on tiny hand-checked cases, through the registered kernel
 *    "amx_tile_emulated" (a short program of tile instructions over a byte buffer): the pair layout,
 *    the order of the sums (two fp32 temporaries per output over k, their sum added to the
 *    destination), DAZ on inputs, FTZ on outputs, round to nearest even, rows/colsb from the
 *    configuration and strides, and #UD/#GP conditions counted as faults.
 * 2. A bf16 training run (compile({ precision: 'bf16' })) through the emulated AMX table against
 *    the same run on the vdpbf16ps table. Both take the same bf16-rounded operands and every product
 *    of two bf16 values is exact in fp32, so they differ only in the fp32 summation order (relative
 *    O(k u) per product, u = 2^-24, k <= 784 here: < 5e-5), carried through 60 Adam steps; the
 *    stated bound is 1e-4 relative on each epoch's loss and on the test loss (observed about 1e-7).
 *    The bf16 rounding itself moves the loss by several 1e-4 against float32.
 */
import { adam, dense, loadDigits, sequential } from '../../lib';
import { amxEmulationCounts, cpuFeatures, setAmxEmulation, setMaxIsa, type IsaLevel } from '../../lib/runtime';
import { call, nbuf, read } from './kernel-call';

const f = cpuFeatures();
const LEVELS: IsaLevel[] = ['portable', 'avx2', 'avx512', 'amx'];
const best = LEVELS.indexOf(f.bestIsa);
const hasAvx512 = best >= 2;
const amxEmulated = best < 3 && setAmxEmulation(true);
setAmxEmulation(false);
if (!hasAvx512) console.log('AMX tile model: NOT exercised on this CPU (it is built with the AVX-512 kernels)');
if (best === 3) console.log('AMX bf16 training: real AMX tiles exercised (the emulation hook does nothing on this CPU)');
else if (!amxEmulated) console.log('AMX bf16 training: NOT exercised on this CPU (no AMX, and no AVX512-BF16 for the emulated tiles)');
else console.log('AMX bf16 training: ran on emulated tiles only (real AMX tiles NOT exercised on this CPU)');

afterEach(() => {
  setAmxEmulation(false);
  setMaxIsa(null);
});

// ---- the tile model -------------------------------------------------------------------------------

const LDTILECFG = 1, TILEZERO = 2, TILELOADD = 3, TDPBF16PS = 4, TILESTORED = 5, TILERELEASE = 6;

/** A byte area for the tile programs, with typed views. */
class Mem {
  readonly buf = new ArrayBuffer(4096);
  readonly u8 = new Uint8Array(this.buf);
  readonly u16 = new Uint16Array(this.buf);
  readonly f32 = new Float32Array(this.buf);
  constructor() {
    this.u8.fill(0xa5); // sentinel: bytes no instruction should touch keep it
  }
  /** A palette-1 configuration at byte offset off: tiles[t] = [rows, colsb]. */
  config(off: number, tiles: [number, number][], palette = 1): void {
    this.u8.fill(0, off, off + 64);
    this.u8[off] = palette;
    tiles.forEach(([rows, colsb], t) => {
      this.u16[(off + 16) / 2 + t] = colsb;
      this.u8[off + 48 + t] = rows;
    });
  }
  /** bf16 values (exactly representable ones, or raw bits via {bits}) at byte offset off. */
  bf16(off: number, values: (number | { bits: number })[]): void {
    values.forEach((x, i) => {
      if (typeof x === 'number') {
        const b = new Float32Array([x]);
        const w = new Uint32Array(b.buffer)[0];
        if ((w & 0xffff) !== 0) throw new Error(`${x} is not a bf16 value`);
        this.u16[off / 2 + i] = w >>> 16;
      } else {
        this.u16[off / 2 + i] = x.bits;
      }
    });
  }
  floats(off: number, values: number[]): void {
    this.f32.set(values, off / 4);
  }
}

/** Runs a tile program on the calling thread; returns the memory after it and the faults it raised. */
function runTiles(mem: Mem, prog: number[][]): { after: Mem; faults: number } {
  const mb = nbuf(mem.f32);
  const pb = nbuf(new Float32Array(prog.flatMap((ins) => [...ins, 0, 0, 0].slice(0, 4))));
  const ob = nbuf(1);
  try {
    call('amx_tile_emulated', false, [mb, pb, ob], []);
    const after = new Mem();
    after.f32.set(read(mb, mem.f32.length));
    return { after, faults: read(ob, 1)[0] };
  } finally {
    mb.dispose();
    pb.dispose();
    ob.dispose();
  }
}

const CFG = 0, A = 256, B = 512, C = 1024, OUT = 2048;

(hasAvx512 ? describe : describe.skip)('AMX tile model (software TDPBF16PS and friends)', () => {
  it('computes a hand-checked 2x2 product from bf16 pairs, strides and rows/colsb taken from the configuration', () => {
    // C (tmm0): 2 rows x 2 fp32 (colsb 8); A (tmm1): 2 rows x 2 pairs; B (tmm2): 2 pair rows x 2 columns.
    // A (m x k) = [[1, 2, 3, 4], [0.5, -1, 2, 0.25]]; B (k x n) = [[1, 2], [3, 4], [5, 6], [7, 8]];
    // B's tile row q holds, per column n, the pair (B[2q][n], B[2q+1][n]).
    const mem = new Mem();
    mem.config(CFG, [
      [2, 8],
      [2, 8],
      [2, 8],
    ]);
    mem.bf16(A, [1, 2, 3, 4]);
    mem.bf16(A + 32, [0.5, -1, 2, 0.25]); // A's rows 32 bytes apart
    mem.bf16(B, [1, 3, 2, 4]);
    mem.bf16(B + 8, [5, 7, 6, 8]);
    mem.floats(C, [10, 20]);
    mem.floats(C + 16, [30, 40]);
    const { after, faults } = runTiles(mem, [
      [LDTILECFG, CFG],
      [TILELOADD, 0, C, 16],
      [TILELOADD, 1, A, 32],
      [TILELOADD, 2, B, 8],
      [TDPBF16PS, 0, 1, 2],
      [TILESTORED, 0, OUT, 16],
    ]);
    expect(faults).toBe(0);
    // C += A B: 10 + (1*1 + 2*3 + 3*5 + 4*7) = 60, 20 + (2 + 8 + 18 + 32) = 80,
    // 30 + (0.5 - 3 + 10 + 1.75) = 39.25, 40 + (1 - 4 + 12 + 2) = 51.
    expect(Array.from(after.f32.subarray(OUT / 4, OUT / 4 + 2))).toEqual([60, 80]);
    expect(Array.from(after.f32.subarray((OUT + 16) / 4, (OUT + 16) / 4 + 2))).toEqual([39.25, 51]);
    // TILESTORED writes rows x colsb bytes at the stride, nothing else.
    expect(Array.from(after.u8.subarray(OUT + 8, OUT + 16))).toEqual(new Array(8).fill(0xa5));
    expect(Array.from(after.u8.subarray(OUT + 24, OUT + 64))).toEqual(new Array(40).fill(0xa5));
  });

  it('sums each half of the pairs over k in fp32, then adds the pair sum to the destination (RNE)', () => {
    // One row; C: 3 columns (colsb 12), A: 2 pairs (colsb 8), B: 2 pair rows x 3 columns.
    // A row = pairs (1, 1), (1, 1).
    // column 0: B pairs (2^-24, 0), (2^-24, 0): temp0 = 2^-23 (summed over k first), C = 1 + 2^-23
    //           (added to C one k at a time, each 1 + 2^-24 would tie back to 1).
    // column 1: B pairs (2^-24, 2^-24), (0, 0): pair sum 2^-23 first, C = 1 + 2^-23.
    // column 2: B pairs (2^-24, 0), (0, 0), C0 = 1 + 2^-23: the tie 1 + 2^-23 + 2^-24 rounds to
    //           even, 1 + 2^-22.
    const e = 2 ** -24;
    const mem = new Mem();
    mem.config(CFG, [
      [1, 12],
      [1, 8],
      [2, 12],
    ]);
    mem.bf16(A, [1, 1, 1, 1]);
    mem.bf16(B, [e, 0, e, e, e, 0]);
    mem.bf16(B + 64, [e, 0, 0, 0, 0, 0]);
    mem.floats(C, [1, 1, 1 + 2 ** -23]);
    const { after, faults } = runTiles(mem, [
      [LDTILECFG, CFG],
      [TILELOADD, 0, C, 64],
      [TILELOADD, 1, A, 64],
      [TILELOADD, 2, B, 64],
      [TDPBF16PS, 0, 1, 2],
      [TILESTORED, 0, OUT, 64],
    ]);
    expect(faults).toBe(0);
    expect(Array.from(after.f32.subarray(OUT / 4, OUT / 4 + 3))).toEqual([1 + 2 ** -23, 1 + 2 ** -23, 1 + 2 ** -22]);
  });

  it('treats subnormal bf16 inputs as zero (DAZ) and flushes subnormal results to zero (FTZ)', () => {
    // column 0: bf16 0x0001 (a subnormal, 2^-133) x 2^100 would be 2^-33: DAZ makes it 0.
    // column 1: 2^-100 x 2^-30 = 2^-130 is subnormal in fp32: FTZ makes it 0.
    // column 2: 2^-60 x 2^-60 = 2^-120 is normal: kept.
    const mem = new Mem();
    mem.config(CFG, [
      [1, 12],
      [1, 4],
      [1, 12],
    ]);
    mem.bf16(A, [1, 0]);
    mem.bf16(A + 64, [2 ** -100, 0]);
    mem.bf16(A + 128, [2 ** -60, 0]);
    mem.bf16(B, [2 ** 100, 0, 2 ** -30, 0, 2 ** -60, 0]);
    mem.floats(C, [0, 0, 0]);
    const prog = (aOff: number) => [
      [LDTILECFG, CFG],
      [TILELOADD, 0, C, 64],
      [TILELOADD, 1, aOff, 64],
      [TILELOADD, 2, B, 64],
      [TDPBF16PS, 0, 1, 2],
      [TILESTORED, 0, OUT, 64],
    ];
    mem.bf16(A, [{ bits: 0x0001 }, 0]);
    const daz = runTiles(mem, prog(A));
    expect(daz.faults).toBe(0);
    expect(daz.after.f32[OUT / 4]).toBe(0);
    const ftz = runTiles(mem, prog(A + 64));
    expect(ftz.after.f32[OUT / 4 + 1]).toBe(0);
    const normal = runTiles(mem, prog(A + 128));
    expect(normal.after.f32[OUT / 4 + 2]).toBe(2 ** -120);
  });

  it('counts #UD/#GP conditions as faults and skips the instruction', () => {
    const mem = new Mem();
    // tmm0: 2 x 8, tmm1: 2 x 8 (2 pairs), tmm2: 1 x 8 (a.colsb / 4 = 2 != b.rows = 1),
    // tmm3: 1 x 8 (rows != tmm0's), tmm4: 2 x 4 (colsb != tmm0's), tmm5 unconfigured.
    mem.config(CFG, [
      [2, 8],
      [2, 8],
      [1, 8],
      [1, 8],
      [2, 4],
    ]);
    mem.config(64, [[2, 8]], 2); // palette 2: not supported
    mem.config(128, [[17, 8]]); // rows over 16
    mem.config(192, [[2, 0]]); // rows without colsb
    mem.floats(C, [1, 2]);
    mem.floats(C + 64, [3, 4]);
    const load = [
      [LDTILECFG, CFG],
      [TILELOADD, 0, C, 64],
      [TILELOADD, 1, A, 64],
      [TILELOADD, 2, B, 64],
      [TILELOADD, 3, B, 64],
      [TILELOADD, 4, B, 64],
    ];
    const cases: [string, number[][]][] = [
      ['TILEZERO before any LDTILECFG', [[TILEZERO, 0]]],
      ['TDPBF16PS with a.colsb / 4 != b.rows', [...load, [TDPBF16PS, 0, 1, 2]]],
      ['TDPBF16PS with dst.rows != a.rows', [...load, [TDPBF16PS, 3, 1, 2]]],
      ['TDPBF16PS with dst.colsb != b.colsb', [...load, [TDPBF16PS, 0, 1, 4]]],
      ['TDPBF16PS with a repeated tile', [...load, [TDPBF16PS, 0, 1, 1]]],
      ['TILELOADD of tile 8', [...load, [TILELOADD, 8, A, 64]]],
      ['TILELOADD of an unconfigured tile', [...load, [TILELOADD, 5, A, 64]]],
      ['TILESTORED after TILERELEASE', [...load, [TILERELEASE], [TILESTORED, 0, OUT, 64]]],
      ['LDTILECFG with palette 2', [[LDTILECFG, 64]]],
      ['LDTILECFG with 17 rows', [[LDTILECFG, 128]]],
      ['LDTILECFG with rows but no colsb', [[LDTILECFG, 192]]],
    ];
    const before = amxEmulationCounts().faults;
    for (const [name, prog] of cases) {
      const { faults } = runTiles(mem, prog);
      if (faults !== 1) throw new Error(`Expected 1 fault for ${name} but received ${faults}`);
    }
    expect(amxEmulationCounts().faults - before).toBe(cases.length);
    // A faulting TDPBF16PS leaves the destination as loaded.
    const { after } = runTiles(mem, [...load, [TDPBF16PS, 0, 1, 2], [TILESTORED, 0, OUT, 64]]);
    expect(Array.from(after.f32.subarray(OUT / 4, OUT / 4 + 2))).toEqual([1, 2]);
    expect(Array.from(after.f32.subarray((OUT + 64) / 4, (OUT + 64) / 4 + 2))).toEqual([3, 4]);
  });

  it('rejects programs that would reach outside the buffer', () => {
    const mem = new Mem();
    expect(() => runTiles(mem, [[TILELOADD, 0, 4000, 64]])).toThrow('TILELOADD outside mem');
    expect(() => runTiles(mem, [[9]])).toThrow('unknown instruction 9');
  });
});

// ---- bf16 training through the AMX table ------------------------------------------------------------

const tilePath = amxEmulated ? 'emulated' : best === 3 ? 'hardware' : null;

(tilePath && f.avx512bf16 ? describe : describe.skip)(`bf16 training on the AMX table (${tilePath} tiles)`, () => {
  async function fitDigits(onTiles: boolean): Promise<{ losses: number[]; testLoss: number; bf16Gemm: string }> {
    if (onTiles && tilePath === 'emulated') expect(setAmxEmulation(true)).toBe(true);
    setMaxIsa(onTiles ? 'amx' : 'avx512');
    const bf16Gemm = cpuFeatures().bf16Gemm;
    const { train, test } = loadDigits({ trainSize: 1000, testSize: 500, seed: 0 });
    const m = sequential([dense({ units: 48, activation: 'relu', inputShape: [784] }), dense({ units: 10, activation: 'softmax' })], { seed: 1 });
    m.compile({ optimizer: adam({ lr: 2e-3 }), loss: 'sparseCategoricalCrossentropy', precision: 'bf16' });
    const h = await m.fit(train, { epochs: 3, batchSize: 50, seed: 1 });
    const testLoss = (await m.evaluate(test)).loss as number;
    setAmxEmulation(false);
    setMaxIsa(null);
    return { losses: h.history.loss as number[], testLoss, bf16Gemm };
  }

  it('reaches the vdpbf16ps fit\'s losses within 1e-4 relative, with no tile fault', async () => {
    const before = amxEmulationCounts();
    const tiles = await fitDigits(true);
    const mid = amxEmulationCounts();
    const vdp = await fitDigits(false);
    expect(tiles.bf16Gemm).toBe(tilePath === 'emulated' ? 'amx-emulated' : 'amx');
    expect(vdp.bf16Gemm).toBe('avx512bf16');
    expect(mid.faults).toBe(before.faults);
    if (tilePath === 'emulated') expect(mid.tdpbf16ps).toBeGreaterThan(before.tdpbf16ps);
    expect(amxEmulationCounts().tdpbf16ps).toBe(mid.tdpbf16ps); // the vdpbf16ps fit used no tiles
    expect(vdp.losses[2]).toBeLessThan(0.8 * vdp.losses[0]); // it learns
    const pairs: [string, number, number][] = [
      ...vdp.losses.map((l, i): [string, number, number] => [`epoch ${i + 1} loss`, tiles.losses[i], l]),
      ['test loss', tiles.testLoss, vdp.testLoss],
    ];
    for (const [name, got, want] of pairs) {
      const rel = Math.abs(got - want) / Math.abs(want);
      if (!(rel <= 1e-4)) throw new Error(`Expected ${name} within 1e-4 of the vdpbf16ps fit's ${want} but received ${got}`);
    }
  });
});
