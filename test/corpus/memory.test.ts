/**
 * Corpus, class "resource growth": memory stays flat over create / compile / fit / predict / drop
 * cycles (scripts/stress/memory-cycles.js; 3,000 cycles here, 10,000 by default there). The model
 * has no dispose() in this tree, so dropped models are released by their finalizers at gc().
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

import { transpileLib } from '../helpers/transpile';

test('3,000 create/fit/drop cycles: RSS and external memory flat after the first third', () => {
  const lib = transpileLib();
  try {
    const script = path.join(__dirname, '..', '..', 'scripts', 'stress', 'memory-cycles.js');
    const r = spawnSync(process.execPath, ['--expose-gc', script, '3000', `--lib=${lib.index}`], { encoding: 'utf8', timeout: 240000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/rss growth from cycle \d+ to 3000/);
  } finally {
    lib.cleanup();
  }
});
