/**
 * The ISA-specific libraries of the addon (nt_avx2, built with -mavx2 -mfma; nt_avx512, with the
 * AVX-512 flags) must hold no code that runs when the addon loads. A static initialiser compiled
 * there (a registration, a global with a constructor, a thread_local with dynamic initialisation)
 * may use those instructions and runs on EVERY CPU at load time: on a CPU without them the process
 * dies with SIGILL before the dispatch can choose another table. This checks the node-gyp build's
 * objects with nm and objdump: no _GLOBAL__sub_I_ initialiser, no .init_array section, no TLS
 * initialisation wrapper.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '../../build/Release/obj.target');
const libs = ['nt_avx2', 'nt_avx512'];

function objects(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? objects(p) : e.name.endsWith('.o') ? [p] : [];
  });
}

function tool(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('ISA-specific objects run nothing at load time', () => {
  const found = libs.map((l) => ({ lib: l, objs: objects(path.join(root, l)) }));
  const have = tool('nm') && tool('objdump');

  it('finds the objects of the node-gyp build (or says why not)', () => {
    if (!have || found.every((f) => f.objs.length === 0)) {
      console.log(`not exercised here: ${have ? `no node-gyp objects under ${root}` : 'nm/objdump are missing'}`);
      return;
    }
    expect(found.find((f) => f.lib === 'nt_avx2')!.objs.length).toBeGreaterThan(0);
  });

  for (const { lib, objs } of found) {
    for (const o of objs) {
      const name = `${lib}/${path.basename(o)}`;
      it(`${name} has no static initialiser`, () => {
        if (!have) return;
        const syms = execFileSync('nm', [o], { encoding: 'utf8' });
        const bad = syms.split('\n').filter((l) => /_GLOBAL__sub_I_|__tls_init|_ZTW/.test(l));
        expect(bad).toEqual([]);
        const sections = execFileSync('objdump', ['-h', o], { encoding: 'utf8' });
        expect(sections).not.toMatch(/\.init_array|\.ctors/);
      });
    }
  }
});
