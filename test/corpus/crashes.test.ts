/**
 * Corpus, class "crashes": worker_threads terminated in the middle of fit, evaluate/predict and
 * tensor work must never abort the process (a C++ exception escaping a Node-API callback during
 * environment teardown did, in about 3 % of terminations). CI runs 50 terminations through
 * scripts/stress/worker-terminate.js; run the script with 300 or more to catch a 1 % rate
 * (node scripts/stress/worker-terminate.js 300).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

import { transpileLib } from '../helpers/transpile';

test('50 worker terminations mid-work: every child process exits cleanly', () => {
  const lib = transpileLib();
  try {
    const script = path.join(__dirname, '..', '..', 'scripts', 'stress', 'worker-terminate.js');
    const r = spawnSync(process.execPath, [script, '50', `--lib=${lib.index}`], { encoding: 'utf8', timeout: 240000, env: { ...process.env, NT_TERMINATIONS_PER_CHILD: '25' } });
    expect({ status: r.status, signal: r.signal, failures: r.stdout.split('\n').filter((l) => l.startsWith('child ')) }).toEqual({ status: 0, signal: null, failures: [] });
    expect(r.stdout).toContain('50/50 terminations, 0 failed children');
  } finally {
    lib.cleanup();
  }
});
