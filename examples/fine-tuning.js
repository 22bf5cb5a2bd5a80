// Fine-tuning: a digits MLP pretrained on all ten classes is adapted to a shifted domain (noisy,
// occluded images) from only 20 labelled examples per class, and compared with training the same
// architecture from scratch on those 200 examples.
//   node examples/fine-tuning.js
'use strict';
const nt = require('nodetrain');

function noisy(ds, seed) {
  // 30% dimmer, and a quarter of the pixels randomly lit.
  const rng = nt.createRng(seed);
  const x = Float32Array.from(ds.x.data(), (v) => (rng.next() < 0.25 ? 1 : 0.7 * v));
  return nt.dataset(nt.tensor(x, ds.x.shape), ds.y.clone(), { numClasses: 10 });
}

function perClass(ds, k) {
  const labels = ds.y.data();
  const taken = new Array(10).fill(0);
  const rows = [];
  for (let i = 0; i < ds.size; i++) if (taken[labels[i]] < k) (taken[labels[i]]++, rows.push(i));
  return ds.subset(rows);
}

function mlp(seed) {
  return nt.sequential([
    nt.dense({ units: 256, activation: 'relu', inputShape: [784] }),
    nt.dense({ units: 128, activation: 'relu' }),
    nt.dense({ units: 10, activation: 'softmax' }),
  ], { seed });
}

async function main() {
  const { train, test } = nt.loadDigits({ trainSize: 6000, testSize: 1000, seed: 0 });
  const source = mlp(1);
  source.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await source.fit(train, { epochs: 3, batchSize: 64, seed: 1 });

  const target = perClass(noisy(train, 2), 20); // 200 labelled examples of the new domain
  const targetTest = noisy(test, 3);

  const scratch = mlp(2);
  scratch.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await scratch.fit(target, { epochs: 30, batchSize: 32, seed: 1 });
  const fromScratch = (await scratch.evaluate(targetTest)).accuracy;

  // Phase 1 trains the head with the body frozen; phase 2 unfreezes with discriminative rates.
  const { phases } = await nt.fineTune(source, target, { headEpochs: 2, headLr: 1e-3, epochs: 6, seed: 1, metrics: ['accuracy'] });
  const fineTuned = (await source.evaluate(targetTest)).accuracy;
  console.log(`phases: ${phases.map((p) => `${p.name} (rates ${p.rates.map((r) => r.toExponential(1)).join(', ')})`).join(' -> ')}`);
  console.log(`noisy-domain test accuracy: from scratch ${(fromScratch * 100).toFixed(1)}%, fine-tuned ${(fineTuned * 100).toFixed(1)}%`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
