/**
 * ISA dispatch controls: cpuFeatures() reports what the CPU has and which table is active;
 * setMaxIsa caps the active table at a level (never above what the CPU has), setForcePortable wins
 * over it, and both restore. Prints the levels this CPU cannot run (compiled, not exercised here).
 */
import { cpuFeatures, getMaxIsa, setForcePortable, setMaxIsa, type IsaLevel } from '../../lib/runtime';
import { MISSING_LEVELS } from '../helpers/variants';

const LEVELS: IsaLevel[] = ['portable', 'avx2', 'avx512', 'amx'];

// The settings are process-wide and a jest worker runs several files: start from the defaults.
beforeAll(() => {
  setMaxIsa(null);
  setForcePortable(false);
});
afterEach(() => {
  setMaxIsa(null);
  setForcePortable(false);
});

describe('ISA dispatch', () => {
  it('reports features consistent with the best table', () => {
    const f = cpuFeatures();
    if (MISSING_LEVELS.length > 0) console.log(`ISA levels NOT exercised on this CPU: ${MISSING_LEVELS.join(', ')}`);
    expect(f.isa).toBe(f.bestIsa);
    if (f.bestIsa === 'avx512' || f.bestIsa === 'amx') expect(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512Kernels).toBe(true);
    if (f.bestIsa === 'amx') expect(f.amxTile && f.amxBf16 && f.avx512bf16).toBe(true);
    if (f.amxTile && f.amxBf16 && f.avx512bf16 && f.avx512Kernels) expect(f.bestIsa).toBe('amx');
    expect(['amx', 'avx512bf16', 'emulated']).toContain(f.bf16Gemm);
    expect(f.amxPermission === 'not requested' || f.amxPermission === 'granted' || f.amxPermission.startsWith('denied: ')).toBe(true);
    if (f.bestIsa !== 'portable') expect(f.avx2 && f.fma && f.avx2Kernels).toBe(true);
    if (f.amxBf16 || f.amxTile) expect(f.avx512f).toBe(true);
    for (const k of ['avx512bf16', 'amxTile', 'amxBf16'] as const) expect(typeof f[k]).toBe('boolean');
  });

  it('setMaxIsa caps the active level at min(cap, best) and null removes the cap', () => {
    const best = LEVELS.indexOf(cpuFeatures().bestIsa);
    for (const cap of LEVELS) {
      setMaxIsa(cap);
      expect(getMaxIsa()).toBe(cap);
      expect(cpuFeatures().isa).toBe(LEVELS[Math.min(LEVELS.indexOf(cap), best)]);
      expect(cpuFeatures().useAvx2).toBe(Math.min(LEVELS.indexOf(cap), best) > 0);
    }
    setMaxIsa(null);
    expect(getMaxIsa()).toBeNull();
    expect(cpuFeatures().isa).toBe(cpuFeatures().bestIsa);
  });

  it('setForcePortable wins over the cap', () => {
    setMaxIsa('avx512');
    setForcePortable(true);
    expect(cpuFeatures().isa).toBe('portable');
    setForcePortable(false);
    expect(cpuFeatures().isa).toBe(cpuFeatures().bestIsa);
  });

  it('rejects unknown levels in the message template', () => {
    expect(() => setMaxIsa('sse2' as IsaLevel)).toThrow(
      expect.objectContaining({ code: 'ERR_NT_INVALID_ARGUMENT_VALUE', message: expect.stringMatching(/^Expected one of .* for level but received "sse2"$/) }),
    );
  });
});
