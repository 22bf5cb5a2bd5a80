/**
 * A study in Redis, behind the same StudyStorage interface as the journal: any number of
 * coordinators and workers on any hosts attach to one study by its name.
 *
 * Layout (prefix `nt:study:<name>:`):
 *   log           list of JSON records (the replayed log, exactly the journal's records)
 *   header        the study record (set once: study creation is atomic)
 *   trial:<n>     hash: state, attempt, owner, heartbeat, create / finish (the raw records)
 *   iv:<n>        hash: step -> report record of the current attempt
 *   model:<n>     the packed model files a worker saved for trial n (until the trial finishes)
 *   best          hash: number, finish record of the best complete trial; best-model: its packed files
 *   lock          the write lock (a lease with a random token, renewed while held)
 *   config        what workers run (written by the coordinator's executor)
 *
 * Every append runs one Lua script that checks each record against the trial's state (a create of a
 * number that exists, a finish of an attempt that is not the running one, a retry of a trial that is
 * not stale are dropped, exactly as Replay would ignore them), updates the trial hash and pushes the
 * record to the log, all atomically; a finished complete trial that beats the best takes over the
 * best-model bytes in the same script. The write lock (used by the study to create trials with its
 * sampler) is a lease as in the journal, so a killed holder never blocks the study.
 */
import { AsyncLocalStorage } from 'async_hooks';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { Redis as RedisClient, RedisOptions } from 'ioredis';

import { NodetrainError } from '../../errors';
import type { StudyRecord, StudyStorage } from './storage';

export interface RedisConnectOptions {
  /** TLS options passed to ioredis (a rediss:// URL turns TLS on with defaults). */
  tls?: RedisOptions['tls'];
  /** Connection attempts before ERR_NT_UNAVAILABLE (default 3). */
  connectAttempts?: number;
  /** Timeout of one connection attempt in ms (default 2000). */
  connectTimeoutMs?: number;
  /** Extra ioredis options. */
  redisOptions?: RedisOptions;
}

export interface RedisStorageOptions extends RedisConnectOptions {
  /** Lease of the write lock (default 10 s, renewed while held). */
  leaseMs?: number;
  /** Give up acquiring the lock after this long (default 60 s). */
  lockTimeoutMs?: number;
  owner?: string;
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Connects an ioredis client with bounded retries.
 * @throws NodetrainError ERR_NT_UNAVAILABLE when no attempt connects.
 */
export async function connectRedis(url: string, opts: RedisConnectOptions = {}, extra: RedisOptions = {}): Promise<RedisClient> {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new RangeError(`Expected a redis:// or rediss:// URL for the Redis connection but received ${JSON.stringify(url)}`);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Redis } = require('ioredis') as typeof import('ioredis');
  const attempts = opts.connectAttempts ?? 3;
  const timeout = opts.connectTimeoutMs ?? 2000;
  let last: unknown = null;
  for (let i = 0; i < attempts; i++) {
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeout,
      maxRetriesPerRequest: 3,
      enableOfflineQueue: true,
      retryStrategy: () => null,
      ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
      ...opts.redisOptions,
      ...extra,
    });
    client.on('error', () => undefined); // reported through connect() and commands
    try {
      await client.connect();
      await client.ping();
      // Once up, reconnect a few times after a drop, then let commands fail (never hang).
      client.options.retryStrategy = (times: number) => (times > 10 ? null : Math.min(100 * times, 1000));
      return client;
    } catch (e) {
      last = e;
      client.disconnect();
      if (i + 1 < attempts) await sleep(Math.min(250 * (i + 1), 1000));
    }
  }
  throw new NodetrainError(
    'ERR_NT_UNAVAILABLE',
    `Expected a reachable Redis server for ${redactUrl(url)} but received ${String((last as Error)?.message ?? last)} after ${attempts} attempts of ${timeout} ms`,
  );
}

const APPEND_LUA = `
local p = KEYS[1]
local acc = {}
local function num(x) return tostring(x) end
for i = 1, #ARGV do
  local raw = ARGV[i]
  local r = cjson.decode(raw)
  local ok = true
  if r.op == 'study' then
    if redis.call('SETNX', p .. 'header', raw) == 0 then ok = false end
  elseif r.op == 'rebind' then
    ok = redis.call('EXISTS', p .. 'header') == 1
  elseif r.op == 'oneshot' then
    ok = true
  else
    local tk = p .. 'trial:' .. num(r.number)
    local state = redis.call('HGET', tk, 'state')
    local attempt = tonumber(redis.call('HGET', tk, 'attempt') or '0')
    if r.op == 'create' then
      if state then ok = false else
        redis.call('HSET', tk, 'state', 'running', 'attempt', 1, 'owner', r.owner, 'heartbeat', num(r.ts), 'create', raw)
        redis.call('DEL', p .. 'iv:' .. num(r.number))
      end
    elseif r.op == 'retry' then
      if state ~= 'stale' or r.attempt ~= attempt + 1 then ok = false else
        redis.call('HSET', tk, 'state', 'running', 'attempt', r.attempt, 'owner', r.owner, 'heartbeat', num(r.ts))
        redis.call('HDEL', tk, 'finish')
        redis.call('DEL', p .. 'iv:' .. num(r.number))
      end
    elseif r.op == 'report' then
      if state ~= 'running' or r.attempt ~= attempt then ok = false else
        redis.call('HSET', p .. 'iv:' .. num(r.number), num(r.step), raw)
      end
    elseif r.op == 'heartbeat' then
      if r.attempt ~= attempt then ok = false else redis.call('HSET', tk, 'heartbeat', num(r.ts)) end
    elseif r.op == 'stale' then
      if state ~= 'running' or r.attempt ~= attempt then ok = false else redis.call('HSET', tk, 'state', 'stale') end
    elseif r.op == 'finish' then
      if state ~= 'running' or r.attempt ~= attempt then ok = false else
        redis.call('HSET', tk, 'state', r.state, 'finish', raw)
        local mk = p .. 'model:' .. num(r.number)
        local better = false
        if r.state == 'complete' and type(r.values) == 'table' and type(r.values[1]) == 'number' then
          local h = cjson.decode(redis.call('GET', p .. 'header') or '{}')
          local sg = 1
          if type(h.objectives) == 'table' and h.objectives[1] and h.objectives[1].direction == 'maximize' then sg = -1 end
          local v = r.values[1]
          local bn = redis.call('HGET', p .. 'best', 'number')
          if not bn then better = true else
            local bv = cjson.decode(redis.call('HGET', p .. 'best', 'finish')).values[1]
            better = sg * v < sg * bv or (v == bv and r.number < tonumber(bn))
          end
          if better then
            redis.call('HSET', p .. 'best', 'number', num(r.number), 'finish', raw)
            if redis.call('EXISTS', mk) == 1 then redis.call('RENAME', mk, p .. 'best-model') else redis.call('DEL', p .. 'best-model') end
          end
        end
        if not better then redis.call('DEL', mk) end
      end
    end
  end
  if ok then redis.call('RPUSH', p .. 'log', raw) end
  acc[#acc + 1] = ok and 1 or 0
end
return acc
`;

const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/** The key prefix of a study. */
export function studyPrefix(name: string): string {
  return `nt:study:${name}:`;
}

export function checkStudyName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new RangeError(`Expected a study name of 1 to 100 letters, digits, '.', '_' or '-' for study but received ${JSON.stringify(name)}`);
  return name;
}

export class RedisStorage implements StudyStorage {
  readonly dir?: string = undefined;
  readonly name: string;
  readonly prefix: string;
  readonly owner: string;
  readonly client: RedisClient;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #inLock = new AsyncLocalStorage<boolean>();
  #queue: Promise<void> = Promise.resolve();
  /** Records the last append dropped as invalid transitions (for tests and diagnostics). */
  dropped = 0;

  /** @internal use redisStorage() */
  constructor(client: RedisClient, name: string, opts: RedisStorageOptions = {}) {
    this.client = client;
    this.name = checkStudyName(name);
    this.prefix = studyPrefix(name);
    this.owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#leaseMs = opts.leaseMs ?? 10_000;
    this.#timeoutMs = opts.lockTimeoutMs ?? 60_000;
  }

  async append(records: StudyRecord[]): Promise<void> {
    if (records.length === 0) return;
    const res = (await this.client.eval(APPEND_LUA, 1, this.prefix, ...records.map((r) => JSON.stringify(r)))) as number[];
    this.dropped += res.filter((x) => x === 0).length;
  }

  async read(cursor?: unknown): Promise<{ records: StudyRecord[]; cursor: number }> {
    const from = typeof cursor === 'number' ? cursor : 0;
    const rows = await this.client.lrange(`${this.prefix}log`, from, -1);
    return { records: rows.map((r) => JSON.parse(r) as StudyRecord), cursor: from + rows.length };
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inLock.getStore()) return fn();
    const prev = this.#queue;
    let done!: () => void;
    this.#queue = new Promise((r) => (done = r));
    await prev;
    try {
      const key = `${this.prefix}lock`;
      const token = `${this.owner}:${randomBytes(6).toString('hex')}`;
      const start = Date.now();
      for (let i = 0; ; i++) {
        if ((await this.client.set(key, token, 'PX', this.#leaseMs, 'NX')) === 'OK') break;
        if (Date.now() - start > this.#timeoutMs) {
          const holder = await this.client.get(key);
          throw new NodetrainError('ERR_NT_STUDY_LOCKED', `Expected the lock of study ${this.name} to be released within ${this.#timeoutMs} ms but received a lease held by ${holder ?? 'an unknown owner'}`);
        }
        await sleep(Math.min(50, 2 + i * 2));
      }
      const renew = setInterval(() => void this.client.eval(RENEW_LUA, 1, key, token, String(this.#leaseMs)).catch(() => undefined), Math.max(100, this.#leaseMs / 3));
      renew.unref?.();
      try {
        return await this.#inLock.run(true, fn);
      } finally {
        clearInterval(renew);
        await this.client.eval(RELEASE_LUA, 1, key, token).catch(() => undefined);
      }
    } finally {
      done();
    }
  }

  /** The trial's derived state as the Lua script keeps it (state, attempt, intermediate values). */
  async trialState(n: number): Promise<{ state: string; attempt: number; intermediate: Map<number, number> } | null> {
    const [h, iv] = await Promise.all([this.client.hgetall(`${this.prefix}trial:${n}`), this.client.hgetall(`${this.prefix}iv:${n}`)]);
    if (!h.state) return null;
    return { state: h.state, attempt: Number(h.attempt), intermediate: new Map(Object.entries(iv).map(([k, v]) => [Number(k), (JSON.parse(v) as { value: number | null }).value ?? NaN])) };
  }

  /** Stores the packed model files of trial n (a worker does this before it reports the trial done). */
  async putModel(n: number, bytes: Buffer): Promise<void> {
    await this.client.set(`${this.prefix}model:${n}`, bytes, 'EX', 7 * 24 * 3600);
  }

  /** The best complete trial's number and packed model files (null when none was stored). */
  async bestModel(): Promise<{ number: number; bytes: Buffer } | null> {
    const [n, bytes] = await Promise.all([this.client.hget(`${this.prefix}best`, 'number'), this.client.getBuffer(`${this.prefix}best-model`)]);
    return n !== null && bytes ? { number: Number(n), bytes } : null;
  }

  async setConfig(config: unknown): Promise<void> {
    await this.client.set(`${this.prefix}config`, JSON.stringify(config));
  }

  async getConfig<T>(): Promise<T | null> {
    const s = await this.client.get(`${this.prefix}config`);
    return s === null ? null : (JSON.parse(s) as T);
  }

  /** Deletes every key of the study (not its queue). */
  async destroy(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await this.client.del(...keys);
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * Opens a study's storage in Redis by name.
 * @throws NodetrainError ERR_NT_UNAVAILABLE when Redis cannot be reached (bounded retries).
 * @example const storage = await redisStorage(url, 'mlp-search'); // url: 'redis://:secret@10.0.0.5:6379'
 * const study = await createStudy({ space, storage });
 * await storage.close(); // when the study is done
 */
export async function redisStorage(url: string, name: string, opts: RedisStorageOptions = {}): Promise<RedisStorage> {
  checkStudyName(name);
  return new RedisStorage(await connectRedis(url, opts), name, opts);
}

/** Packs a model folder's files into one buffer (JSON of base64 contents). */
export function packDir(dir: string): Buffer {
  const files: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) files[r] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir, '');
  return Buffer.from(JSON.stringify({ format: 'nodetrain-dir', files }));
}

/** Writes packed model files into a folder. */
export function unpackDir(bytes: Buffer, dir: string): void {
  const { files } = JSON.parse(bytes.toString('utf8')) as { files: Record<string, string> };
  for (const [rel, b64] of Object.entries(files)) {
    if (rel.split('/').some((s) => s === '..' || s === '')) throw new RangeError(`Expected relative file names in a packed model but received ${JSON.stringify(rel)}`);
    const out = path.join(dir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, Buffer.from(b64, 'base64'));
  }
}
