// Regression on a CSV file: predict a house's price from its rooms, area and age
// (examples/data/houses.csv, synthetic). Features are standardised on the training split only.
//   node examples/csv-regression.js [file.csv] [target column]
'use strict';
const path = require('path');
const nt = require('nodetrain');

async function main() {
  const file = process.argv[2] || path.join(__dirname, 'data', 'houses.csv');
  const target = process.argv[3] || 'price';
  const all = await nt.loadCsv(file, { target, labels: 'regression' });     // x: [n, features], y: [n, 1]
  const split = nt.splitDataset(all, { test: 0.2, seed: 1 });
  const standardizer = nt.fitStandardizer(split.train);
  const train = standardizer.transform(split.train);
  const test = standardizer.transform(split.test);

  const model = nt.sequential([
    nt.dense({ units: 32, activation: 'relu', inputShape: [train.x.shape[1]] }),
    nt.dense({ units: 1 }),
  ], { seed: 1 });
  model.compile({ optimizer: nt.adam({ lr: 0.01 }), loss: 'meanSquaredError', metrics: ['mae'] });
  await model.fit(train, { epochs: 150, batchSize: 32, seed: 1 });

  const { mae } = await model.evaluate(test);
  const ys = test.y.data();
  let mean = 0;
  for (const v of ys) mean += v / ys.length;
  let baseline = 0;
  for (const v of ys) baseline += Math.abs(v - mean) / ys.length;
  console.log(`${all.size} rows from ${path.basename(file)}; test mae ${mae.toFixed(2)} (predicting the mean: ${baseline.toFixed(2)})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
