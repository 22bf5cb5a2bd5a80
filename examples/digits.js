// Digits classification: an MLP on the bundled 28x28 handwritten digits, Adam, accuracy on a
// held-out test set, the model saved and loaded back.
//   node examples/digits.js [epochs]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const nt = require('nodetrain');

async function main() {
  const epochs = Number(process.argv[2] || 3);
  const { train, test } = nt.loadDigits({ trainSize: 5000, testSize: 1000, seed: 0 }); // x: [n, 784], y: labels 0-9

  const model = nt.sequential([
    nt.dense({ units: 128, activation: 'relu', inputShape: [784] }),
    nt.dropout({ rate: 0.1 }),
    nt.dense({ units: 10, activation: 'softmax' }),
  ], { seed: 1 });
  model.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  console.log(model.summary());

  await model.fit(train, {
    epochs, batchSize: 64, validationSplit: 0.1, seed: 1,
    callbacks: [nt.earlyStopping({ patience: 2, restoreBestWeights: true })],
  });
  const { loss, accuracy } = await model.evaluate(test);
  console.log(`test loss ${loss.toFixed(4)}, test accuracy ${(accuracy * 100).toFixed(2)}%`);

  // Save, load back, and check the loaded model predicts the same classes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-digits-'));
  try {
    await model.save(dir);
    const { model: again } = await nt.loadModel(dir);
    const a = nt.argmax(await model.predict(test.x), 1).data();
    const b = nt.argmax(await again.predict(test.x), 1).data();
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    console.log(`saved and loaded: ${same}/${a.length} predictions agree`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
