/**
 * `nodetrain worker`: a worker process of a distributed search. It attaches to a study in Redis by
 * name, runs its trials from the study's BullMQ queue and stops on SIGINT/SIGTERM: the first signal
 * lets the running trials finish, a second one puts them back in the queue at once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';

import * as nt from '../index';
import * as nas from '../nas/index';
import { intFlag, parseDuration, usage } from './args';

export const WORKER_HELP = `Usage: nodetrain worker --redis <url> --study <name> [options]

Runs the trials of a distributed search (started with nodetrain search --redis <url> --study <name>)
until stopped. SIGINT/SIGTERM: finish the running trials and exit; a second signal requeues them.

Options:
  --redis <url>          redis://[user:password@]host:port[/db], or rediss:// for TLS
  --redis-ca <file>      CA certificate for a TLS server
  --study <name>         the study name
  --concurrency <n>      trials at once in this process (default 1)
  --threads <n>          kernel threads (default: all cores)
  --wait <t>             wait this long for the coordinator to publish the study (default 10m)
  --quiet                no per-trial lines
  -h, --help             this help
`;


/**
 * Runs `nodetrain worker` (the arguments after "worker"); resolves once the worker stopped.
 * @throws NodetrainError ERR_NT_USAGE for invalid arguments; ERR_NT_UNAVAILABLE when Redis cannot be reached.
 * @example await workerCommand(['--redis', 'redis://127.0.0.1:6379', '--study', 'mlp']);
 */
export async function workerCommand(argv: string[]): Promise<void> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        redis: { type: 'string' },
        'redis-ca': { type: 'string' },
        study: { type: 'string' },
        concurrency: { type: 'string' },
        threads: { type: 'string' },
        wait: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (a.help) {
    process.stdout.write(WORKER_HELP);
    return;
  }
  if (!a.redis) usage('Expected --redis <url> for worker');
  if (!a.study) usage('Expected --study <name> for worker');
  const log = a.quiet ? undefined : (l: string): void => void process.stdout.write(`nodetrain worker ${process.pid}: ${l}\n`);
  const w = await nas.startRedisWorker({
    url: a.redis,
    study: a.study,
    tls: a['redis-ca'] ? { ca: fs.readFileSync(path.resolve(a['redis-ca'])) } : undefined,
    concurrency: intFlag('concurrency', a.concurrency, 1, 1),
    threads: intFlag('threads', a.threads, undefined, 1),
    waitMs: a.wait ? parseDuration('wait', a.wait) : undefined,
    log,
  });
  log?.(`attached to study ${a.study} at ${nas.redactUrl(a.redis)}, concurrency ${a.concurrency ?? 1}`);
  let signals = 0;
  const onSignal = (sig: string): void => {
    signals++;
    log?.(`${sig}: ${signals === 1 ? 'finishing the running trials' : 'requeueing the running trials'}`);
    void w.close(signals > 1);
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await w.closed;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  log?.(`stopped after ${w.processed} trials`);
}
