// Architecture search: TPE over depth, widths, activations and learning rate of an MLP on a
// subset of the bundled digits, with ASHA stopping weak trials early, the study kept in a folder
// (re-running resumes it), and the best configuration printed.
//   node examples/search.js [trials]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const nt = require('nodetrain');

async function main() {
  const trials = Number(process.argv[2] || 12);
  const spec = {
    data: { kind: 'digits', trainSize: 1500, testSize: 300, seed: 1 },
    space: { depth: [1, 2], widths: [32, 64, 128], activations: ['relu', 'tanh'], optimizers: 'adam', lr: [1e-3, 1e-2], batchSize: 64, weightDecay: 0 },
    epochs: 3,
  };
  const space = nt.mlpSpace(spec.space);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-search-'));
  const study = await nt.createStudy({
    space,
    objectives: [{ name: 'accuracy', direction: 'maximize' }],
    objectiveId: nt.mlpObjectiveId(spec),
    sampler: nt.tpeSampler({ nStartupTrials: 5 }),
    pruner: nt.ashaPruner(),
    dir,
    seed: 1,
  });
  const r = await study.optimize({ trials, executor: nt.inlineExecutor(nt.mlpObjective(spec)) });
  const states = r.trials.reduce((c, t) => ((c[t.state] = (c[t.state] || 0) + 1), c), {});
  console.log(`trials: ${Object.entries(states).map(([s, n]) => `${n} ${s}`).join(', ')}`);
  console.log(`best: accuracy ${(r.best.values[0] * 100).toFixed(1)}% with ${JSON.stringify(r.best.params)}`);
  console.log(`study folder: ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
