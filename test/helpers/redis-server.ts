/**
 * Starts a private redis-server for a test: a free loopback port (or a given address), a temporary
 * folder, no persistence; stop() shuts it down. Fails with a clear message when redis-server is not
 * installed (Debian: apt-get install -y redis-server), so no test is skipped silently.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface TestRedis {
  url: string;
  host: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export function redisServerPath(): string {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (fs.existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('redis-server is not installed: the distributed-search tests need it (Debian: apt-get install -y redis-server; .ci/run installs it)');
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts redis-server; `wrap` prefixes the command (e.g. ['ip', 'netns', 'exec', 'ns']). */
export async function startRedis(opts: { host?: string; wrap?: string[]; password?: string } = {}): Promise<TestRedis> {
  const bin = redisServerPath();
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-redis-'));
  const args = ['--port', String(port), '--bind', host, '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no', '--maxmemory-policy', 'noeviction', ...(opts.password ? ['--requirepass', opts.password] : [])];
  const cmd = opts.wrap ? [...opts.wrap, bin, ...args] : [bin, ...args];
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const ready = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 10_000);
    const check = (): void => {
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(t);
        resolve(true);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (!ready) {
    await stop();
    throw new Error(`redis-server did not start on ${host}:${port}: ${out.slice(-2000)}`);
  }
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return { url: `redis://${auth}${host}:${port}`, host, port, proc, stop };
}
