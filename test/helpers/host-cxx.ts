/**
 * Compiles a small C++ program with the host compiler ($CXX or c++, -std=c++17 -O1) into a
 * temporary folder, runs it and returns its standard output as lines. The device tests use it to
 * check plain-C++ headers of the CUDA backend (launch arithmetic, the optimizer's walk, Philox)
 * without a GPU.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function runHostProgram(lines: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-host-cxx-'));
  const src = path.join(dir, 'main.cc');
  const exe = path.join(dir, 'main');
  fs.writeFileSync(src, lines.join('\n'));
  try {
    execFileSync(process.env.CXX || 'c++', ['-std=c++17', '-O1', '-o', exe, src], { stdio: 'pipe' });
    return execFileSync(exe, { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
