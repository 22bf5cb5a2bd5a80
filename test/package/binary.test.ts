/**
 * What the addon this checkout builds (node-gyp, binding.gyp) needs from the system: on Linux x64,
 * nothing above glibc 2.28 and no C++ runtime, whatever glibc and GCC built it
 * (native/cpu/glibc_compat.cc, wired in through native/cpu/glibc_compat.ldflags). The packed,
 * prebuildify-built binary is checked the same way in packed-install.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';

interface CheckBinary {
  readNeeds(file: string): { needed: string[]; versions: { file: string; version: string; symbols: string[] }[]; undefined: string[] };
  portability(file: string, maxGlibc: string): { cxx: string[]; glibc: { version: string; symbols: string[] }[]; wraps: string[]; maxGlibc: string };
  compareVersions(a: string, b: string): number;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { portability, readNeeds, compareVersions } = require('../../scripts/check-binary.js') as CheckBinary;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };

const root = path.join(__dirname, '..', '..');
const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

describe('the built addon', () => {
  const bin = nodeGypBuild.path(root);

  it('on Linux x64 needs no C++ runtime, nothing above GLIBC_2.28 and no unresolved wrapper', () => {
    if (!linuxX64) return; // the glibc wrappers are built for Linux x64 only
    const p = portability(bin, '2.28');
    expect(p.cxx).toEqual([]);
    expect(p.glibc.flatMap((g) => g.symbols.map((s) => `${s}@GLIBC_${g.version}`))).toEqual([]);
    expect(p.wraps).toEqual([]);
    expect(compareVersions(p.maxGlibc, '2.28')).toBeLessThanOrEqual(0);
    expect(readNeeds(bin).needed.filter((n) => !/^(libc|libm|libpthread|libdl|librt|ld-linux[-\w]*)\.so/.test(n))).toEqual([]);
  });

  it('the check sees the versions it judges: with a lower ceiling it reports what lies above', () => {
    if (process.platform !== 'linux') return;
    const all = portability(bin, '99');
    expect(all.glibc).toEqual([]);
    const low = portability(bin, '2.2.5');
    expect(low.glibc.length).toBeGreaterThan(0);
    for (const g of low.glibc) {
      expect(compareVersions(g.version, '2.2.5')).toBeGreaterThan(0);
      expect(g.symbols.length).toBeGreaterThan(0);
    }
    expect(low.glibc[low.glibc.length - 1].version).toBe(all.maxGlibc);
  });
});

describe('the glibc compatibility wrappers', () => {
  const flags = read('native/cpu/glibc_compat.ldflags');
  const source = read('native/cpu/glibc_compat.cc');
  const wrapped = [...flags.matchAll(/--wrap=(\w+)/g)].map((m) => m[1]).sort();

  it('define a __wrap_ function or object for exactly the symbols the link redirects', () => {
    const defined = [...source.matchAll(/\b__wrap_(\w+)\s*(?:\(|=)/g)].map((m) => m[1]).sort();
    expect(wrapped.length).toBeGreaterThan(0);
    expect(defined).toEqual(wrapped);
  });

  it('are linked by both build paths on Linux x64', () => {
    expect(read('binding.gyp')).toContain('native/cpu/glibc_compat.ldflags');
    expect(read('CMakeLists.txt')).toContain('native/cpu/glibc_compat.ldflags');
  });

  it('leave no reference to a wrapped symbol at its new version in the built addon', () => {
    if (!linuxX64) return;
    const { versions } = readNeeds(nodeGypBuild.path(root));
    const bound = versions.flatMap((v) => v.symbols.filter((s) => wrapped.includes(s)).map((s) => `${s}@${v.version}`));
    // Every wrapped symbol the addon still references is bound to its oldest version.
    expect(bound.filter((b) => !b.endsWith('@GLIBC_2.2.5'))).toEqual([]);
  });
});
