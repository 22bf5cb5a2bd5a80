/**
 * Model lifecycle memory: process.memoryUsage() stays flat over 10,000 create -> compile -> fit one
 * batch -> dispose cycles. Bounded by cycle count, not time: a cycle is a few hundred
 * microseconds. A leaked plan per cycle would show: each holds nativeBytes, and 8,000 of them are
 * far above the allowed drift.
 */
import * as v8 from 'v8';
import * as vm from 'vm';

import { adam, batchNormalization, dense, sequential, tensor } from '../../lib';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('memory stays flat over 10,000 create -> fit one batch -> dispose cycles', async () => {
  const x = tensor(new Float32Array(16 * 8).map((_, i) => Math.sin(i)), [16, 8]);
  const y = tensor(new Float32Array(16 * 2).map((_, i) => Math.cos(i)), [16, 2]);
  const samples: { rss: number; heap: number; external: number }[] = [];
  let perModel = 0;
  for (let i = 0; i < 10_000; i++) {
    const m = sequential([dense({ units: 64, activation: 'relu', inputShape: [8] }), batchNormalization(), dense({ units: 2 })], { seed: i });
    m.compile({ optimizer: adam({ lr: 1e-3 }), loss: 'meanSquaredError' });
    await m.fit(x, y, { epochs: 1, batchSize: 16 });
    perModel = m.nativeBytes;
    m.dispose();
    expect(m.nativeBytes).toBe(0);
    // Warm-up (allocator arenas, JIT, the thread pool) over the first 2,000 cycles.
    if (i >= 2000 && i % 1000 === 999) {
      gc();
      const u = process.memoryUsage();
      samples.push({ rss: u.rss, heap: u.heapUsed, external: u.external });
    }
  }
  const drift = (k: 'rss' | 'heap' | 'external'): number => Math.max(...samples.map((s) => s[k])) - samples[0][k];
  const allowed = 24 * 1024 * 1024;
  // The test can fail: 8,000 leaked plans would exceed the allowance several times over.
  expect(perModel * 8000).toBeGreaterThan(4 * allowed);
  expect(samples).toHaveLength(8);
  expect(drift('rss')).toBeLessThan(allowed);
  expect(drift('heap')).toBeLessThan(8 * 1024 * 1024);
  expect(drift('external')).toBeLessThan(8 * 1024 * 1024);
}, 300_000);
