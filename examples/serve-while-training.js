// Serving while training: one model answers HTTP predictions on the loopback while it trains on
// the bundled digits. Predictions read the weights published at the start of fit and at every
// epoch end (never a mix of two steps); the event loop stays free because fit runs on a native
// thread. A small client sends a bounded number of requests during training.
//   node examples/serve-while-training.js
'use strict';
const http = require('http');
const nt = require('nodetrain');

function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function main() {
  const { train, test } = nt.loadDigits({ trainSize: 4000, testSize: 200, seed: 0 });
  const model = nt.sequential([
    nt.dense({ units: 128, activation: 'relu', inputShape: [784] }),
    nt.dense({ units: 10, activation: 'softmax' }),
  ], { seed: 1 });
  model.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const { x } = JSON.parse(Buffer.concat(chunks).toString());
        const p = await model.predict(nt.tensor(x)); // concurrent with fit: reads the serving snapshot
        const probs = p.toArray();
        p.dispose();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ classes: probs.map((r) => r.indexOf(Math.max(...r))) }));
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();

  // Three rows of the test set, sent again and again while the model trains.
  const rows = Array.from(test.x.data().subarray(0, 3 * 784));
  const x = [rows.slice(0, 784), rows.slice(784, 1568), rows.slice(1568)];
  let answered = 0;
  let training = true;
  const client = (async () => {
    while (training && answered < 2000) {
      await post(port, { x });
      answered++;
    }
  })();
  const t0 = Date.now();
  const history = await model.fit(train, { epochs: 4, batchSize: 64, seed: 1 });
  training = false;
  await client;
  const { classes } = await post(port, { x });
  server.close();
  const { accuracy } = await model.evaluate(test);
  console.log(`answered ${answered} prediction requests while training ${history.epoch.length} epochs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`after training: predicted ${classes.join(', ')} for labels ${Array.from(test.y.data().subarray(0, 3)).join(', ')}; test accuracy ${(accuracy * 100).toFixed(1)}%`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
