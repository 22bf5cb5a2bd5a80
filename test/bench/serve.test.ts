/**
 * A bounded run of scripts/bench/serve.js: an HTTP server on Node's http serves predict from a
 * model while the model trains with fit; a loopback client sends a bounded number of requests
 * (idle, then while training). No request fails and every response equals predict on one of the
 * published serving snapshots. (Speed figures are the benchmark's; nothing here is timed.)
 */
import * as nt from '../../lib';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { runServeBench } = require('../../scripts/bench/serve.js') as {
  runServeBench(lib: typeof nt, o: Record<string, number>): Promise<{
    idle: { requests: number; failed: number };
    duringTraining: { requests: number; failed: number };
    snapshots: number;
    snapshotsServed: number;
    unmatchedResponses: number;
    failedRequests: number;
  }>;
};

test('serving predict over HTTP while fit trains the same model', async () => {
  const r = await runServeBench(nt, { rows: 2000, features: 16, hidden: 32, epochs: 4, batchSize: 32, requests: 200, concurrency: 4, rowsPerRequest: 3 });
  expect(r.failedRequests).toBe(0);
  expect(r.idle.requests).toBe(200);
  expect(r.duringTraining.requests).toBeGreaterThan(0);
  expect(r.snapshots).toBe(5); // the start of fit and four epoch ends
  expect(r.unmatchedResponses).toBe(0);
  expect(r.snapshotsServed).toBeGreaterThanOrEqual(1);
});
