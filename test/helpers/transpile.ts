/**
 * Transpiles lib/**\/*.ts to plain CommonJS in a temporary folder (typescript.transpileModule: no
 * type check, no build step), for code that runs outside jest's transform: worker_threads and
 * child processes. Returns the path of the transpiled lib/index.js.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const LIB = path.resolve(__dirname, '../../lib');

export function transpileLib(): { index: string; dir: string; cleanup(): void } {
  // Outside the checkout (tests run in parallel and write nothing there): a temporary package
  // root with nodetrain's package.json, and links to the checkout's node_modules and native builds,
  // so that the transpiled code resolves the package's dependencies and finds its native build the
  // way the installed package does (lib/native/index.ts looks for that package.json).
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-lib-'));
  const pkgRoot = path.join(LIB, '..');
  fs.copyFileSync(path.join(pkgRoot, 'package.json'), path.join(root, 'package.json'));
  for (const d of ['node_modules', 'build', 'prebuilds', 'build-cuda']) {
    if (fs.existsSync(path.join(pkgRoot, d))) fs.symlinkSync(path.join(pkgRoot, d), path.join(root, d), 'dir');
  }
  const dir = path.join(root, 'lib');
  const walk = (d: string): void => {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (f.name.endsWith('.gz')) {
        // data files the library reads beside its modules (the bundled digits)
        const out = path.join(dir, path.relative(LIB, p));
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.copyFileSync(p, out);
      } else if (f.name.endsWith('.ts') && !f.name.endsWith('.d.ts')) {
        const out = path.join(dir, path.relative(LIB, p)).replace(/\.ts$/, '.js');
        fs.mkdirSync(path.dirname(out), { recursive: true });
        const js = ts.transpileModule(fs.readFileSync(p, 'utf8'), {
          fileName: p,
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        }).outputText;
        fs.writeFileSync(out, js);
      }
    }
  };
  walk(LIB);
  return { index: path.join(dir, 'index.js'), dir, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
