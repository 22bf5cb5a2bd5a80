// Linear regression: learn y = 2x + 1 from 200 noisy points with one dense unit and SGD.
//   node examples/linear-regression.js       (after `npm install`, which builds dist/)
'use strict';
const nt = require('nodetrain');

async function main() {
  // Data: x in [-1, 1], y = 2x + 1 plus a little noise (a fixed LCG, so every run is the same).
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 200;
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = 2 * rand() - 1;
    ys[i] = 2 * xs[i] + 1 + 0.05 * (rand() - 0.5);
  }
  const x = nt.tensor(xs, [n, 1]);
  const y = nt.tensor(ys, [n, 1]);

  const model = nt.sequential([nt.dense({ units: 1, inputShape: [1] })], { seed: 1 });
  model.compile({ optimizer: nt.sgd({ lr: 0.1 }), loss: 'meanSquaredError' });
  const history = await model.fit(x, y, { epochs: 50, batchSize: 20, seed: 1 });

  const w = model.getWeights();
  const slope = w['dense_1/kernel'].data[0];
  const intercept = w['dense_1/bias'].data[0];
  const loss = history.history.loss[history.history.loss.length - 1];
  console.log(`learned y = ${slope.toFixed(4)} x + ${intercept.toFixed(4)} (final loss ${loss.toExponential(2)})`);
  const pred = await model.predict(nt.tensor([[0.5]]));
  console.log(`prediction for x = 0.5: ${pred.data()[0].toFixed(4)} (true 2)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
