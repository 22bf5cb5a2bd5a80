/**
 * Shared pieces of the hostile-input corpus (one test file per class of failure: crashes, hangs,
 * silent acceptance, uncoded errors, housekeeping, fuzzing). Every corpus entry names its input
 * and the error code it must produce.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { adam, dense, saveModel, sequential } from '../../lib';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nodetrain-corpus-${prefix}-`));
}

/** The code an operation fails with ('resolved' when it does not fail). */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? code : `uncoded ${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'resolved';
}

/** A small trained model saved into `dir` (with optimizer state); returns its model.json. */
export async function savedModel(dir: string): Promise<{ json: Record<string, any>; weights: string }> {
  const m = sequential([dense({ units: 3, activation: 'relu', inputShape: [2] }), dense({ units: 1 })], { seed: 1 });
  m.compile({ optimizer: adam(), loss: 'mse' });
  await m.fit([[1, 2], [3, 4]], [[1], [2]], { epochs: 1 });
  await saveModel(m, dir);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, any>;
  return { json, weights: json.weights as string };
}

/** A copy of a saved model folder with model.json replaced by `edit(json)`. */
export function variant(src: string, dst: string, edit: (j: Record<string, any>) => void): string {
  fs.rmSync(dst, { recursive: true, force: true });
  fs.cpSync(src, dst, { recursive: true });
  const j = JSON.parse(fs.readFileSync(path.join(src, 'model.json'), 'utf8')) as Record<string, any>;
  edit(j);
  fs.writeFileSync(path.join(dst, 'model.json'), JSON.stringify(j));
  return dst;
}
