/**
 * Corpus, class "fuzzing": brief property-based runs (fast-check) of the safetensors header
 * parser, the model.json loader and the CSV reader; every input either parses or fails with one
 * of the listed codes. The properties live in scripts/stress/fuzz-properties.js, which
 * scripts/stress/fuzz.js runs for much longer. A fixed seed keeps CI reproducible.
 */
import fc from 'fast-check';
import * as fs from 'fs';

import * as nt from '../../lib';
import { tempDir } from './corpus';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { properties } = require('../../scripts/stress/fuzz-properties.js') as {
  properties: (lib: typeof nt, f: typeof fc, dir: string) => Record<'safetensorsStructured' | 'safetensorsBytes' | 'modelJson' | 'csv', fc.IRawProperty<unknown[]>>;
};

let dir: string;
let p: ReturnType<typeof properties>;
beforeAll(() => {
  dir = tempDir('fuzz');
  p = properties(nt, fc, dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const seed = 20261130;

test('safetensors headers (structured): parse or fail with a corrupt-file / mismatch code', () => {
  fc.assert(p.safetensorsStructured as fc.IProperty<unknown[]>, { numRuns: 400, seed });
});

test('safetensors bytes (random and mutated files): parse or fail coded', () => {
  fc.assert(p.safetensorsBytes as fc.IProperty<unknown[]>, { numRuns: 400, seed });
});

test('CSV text: parse or fail coded', () => {
  fc.assert(p.csv as fc.IProperty<unknown[]>, { numRuns: 400, seed });
});

test('model.json with random values at random places: load or fail coded', async () => {
  await fc.assert(p.modelJson as fc.IAsyncProperty<unknown[]>, { numRuns: 60, seed });
});
