/**
 * The one loader of the native addon. Looks for, in order: the file named by NODETRAIN_ADDON, a CUDA build when NODETRAIN_BACKEND=cuda
 * (build-cuda/, produced by `npm run build:cuda`), then through node-gyp-build the local build
 * (build/Release) and the prebuilt binaries (prebuilds/<platform>-<arch>/). A failed load throws
 * one error that lists what was tried and how to fix it.
 */
import * as fs from 'fs';
import * as path from 'path';

import { ERR, NodetrainError } from '../errors';
import type { Binding } from './binding';

export type { Binding, NativeBuffer, NativeDType } from './binding';

/** The package root: the nearest folder above this file with nodetrain's package.json. */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'nodetrain') return dir;
      } catch {
        /* keep looking */
      }
    }
    dir = path.dirname(dir);
  }
  return path.join(__dirname, '..', '..');
}

let cached: Binding | undefined;
let backendName = 'cpu';

function load(): Binding {
  const root = packageRoot();
  const tried: string[] = [];
  const explicit = process.env.NODETRAIN_ADDON;
  if (explicit) {
    // A specific build (for development: several build folders side by side).
    const abs = path.resolve(explicit);
    tried.push(abs);
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      return require(abs) as Binding;
    } catch (e) {
      throw loadError(tried, e, 'unset NODETRAIN_ADDON or point it at a built nodetrain.node');
    }
  }
  if (process.env.NODETRAIN_BACKEND === 'cuda') {
    const cudaPath = path.join(root, 'build-cuda', 'Release', 'nodetrain.node');
    tried.push(cudaPath);
    if (fs.existsSync(cudaPath)) {
      backendName = 'cuda';
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      return require(cudaPath) as Binding;
    }
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    tried.push(`${path.join(root, 'build', 'Release')} and ${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)}`);
    return nodeGypBuild(root) as Binding;
  } catch (e) {
    throw loadError(
      tried,
      e,
      'reinstall with a prebuilt binary for this platform, or build from source with `npm run build:native` ' +
        '(needs python3, make and a C++17 compiler)',
    );
  }
}

function loadError(tried: string[], e: unknown, fix: string): NodetrainError {
  const msg = (e as { message?: unknown } | null)?.message;
  const reason = typeof msg === 'string' ? msg.split('\n')[0] : String(e);
  return new NodetrainError(
    ERR.LOAD,
    `nodetrain could not load its native addon for ${process.platform}-${process.arch} (Node ${process.version}, ` +
      `Node-API ${process.versions.napi}). Tried: ${tried.join('; ')}. Reason: ${reason}. Fix: ${fix}.`,
    { cause: e },
  );
}

/** The loaded addon (loaded on first use). @throws NodetrainError ERR_NT_LOAD when it cannot load. */
export function binding(): Binding {
  if (!cached) cached = load();
  return cached;
}

/** 'cpu' or 'cuda': which build was loaded. */
export function backend(): string {
  binding();
  return backendName;
}
