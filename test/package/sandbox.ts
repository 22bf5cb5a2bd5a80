/**
 * Builds the package the way a release does (prebuilt binary, compiled TypeScript, `npm pack`) in a
 * temporary copy of the sources, so that tests never touch the checkout's build outputs (build/,
 * prebuilds/, dist/) while other test files load the addon from them.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const root = path.join(__dirname, '..', '..');

/** Top-level entries never copied: build outputs, installs, VCS and tool caches. */
const SKIP = new Set(['node_modules', 'build', 'prebuilds', 'dist', '.git', '.bench', 'coverage', 'test', 'nodetrain-model', 'docs-api']);

export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 480_000 });
}

export interface PackedPackage {
  /** The temporary folder holding everything; remove it with cleanup(). */
  tmp: string;
  /** The copy of the sources the package was built from. */
  src: string;
  tarball: string;
  /** Paths inside the tarball (package/ prefix removed). */
  files: string[];
  /** Bytes of the .tgz file. */
  size: number;
  /** Bytes of the files once unpacked. */
  unpackedSize: number;
  /** The prebuilt binaries, absolute paths in src/prebuilds. */
  binaries: string[];
  cleanup(): void;
}

/**
 * Copies the sources to a temporary folder (node_modules linked, not copied), builds the prebuilt
 * binary there with prebuildify (Node-API, stripped, libc-tagged), compiles the TypeScript there,
 * and packs it with `npm pack --ignore-scripts`.
 */
export function packInSandbox(): PackedPackage {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-pack-'));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  for (const e of fs.readdirSync(root)) {
    if (SKIP.has(e) || e.startsWith('build-') || e.endsWith('.tgz')) continue;
    fs.cpSync(path.join(root, e), path.join(src, e), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'), 'dir');
  const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
  // node-gyp finds Node's headers through npm's `nodedir` setting when run by npm; outside npm,
  // point it at this Node's own installation when that carries the headers, so nothing is downloaded.
  const env = { ...process.env };
  const prefix = path.join(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  run(bin('prebuildify'), ['--napi', '--strip', '--tag-libc'], src, env);
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(src, 'lib', 'tsconfig.json')], src);
  fs.chmodSync(path.join(src, 'dist', 'lib', 'cli', 'main.js'), 0o755);
  const out = run('npm', ['pack', '--pack-destination', tmp, '--ignore-scripts', '--json'], src);
  const info = JSON.parse(out) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  const prebuildDir = path.join(src, 'prebuilds', `${process.platform}-${process.arch}`);
  const binaries = fs.existsSync(prebuildDir) ? fs.readdirSync(prebuildDir).filter((f) => f.endsWith('.node')).map((f) => path.join(prebuildDir, f)) : [];
  return {
    tmp,
    src,
    tarball: path.join(tmp, info[0].filename),
    files: info[0].files.map((f) => f.path),
    size: info[0].size,
    unpackedSize: info[0].unpackedSize,
    binaries,
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}
