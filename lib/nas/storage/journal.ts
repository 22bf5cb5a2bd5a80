/**
 * A study folder's journal: append-only JSON lines, modelled on Optuna's JournalFileStorage and
 * hardened where it is known to fail:
 *   - every line is `<checksum> <json>` (the first 16 hex digits of the json's SHA-256), so a torn
 *     line (a crash mid-write) or two interleaved writes (a shared file system without atomic appends,
 *     optuna#5138) are detected and skipped with a warning instead of poisoning the replay;
 *   - appends are written under the lock in one write() and fsync'd; before writing, a writer that
 *     finds the file not ending in a newline (a predecessor died mid-line) ends that line first, so
 *     the damage stays confined to the one torn record;
 *   - the lock is a lease: a file holding {owner, pid, host, expires}. A holder that died (same host,
 *     no such process) or whose lease expired is broken by the next writer, so a killed process never
 *     blocks a resume (optuna#5921). Breaking renames the lock aside and checks that what was
 *     renamed is the lease it judged dead; a live lease taken meanwhile is put back.
 */
import { AsyncLocalStorage } from 'async_hooks';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { StudyRecord, StudyStorage } from './storage';

export const JOURNAL_FILE = 'journal.jsonl';
export const LOCK_FILE = 'journal.lock';

export interface JournalOptions {
  /** Lease length of the write lock (default 10 s); writes under it take milliseconds. */
  leaseMs?: number;
  /** Give up acquiring the lock after this long (default 60 s). */
  lockTimeoutMs?: number;
  /** Receives warnings (skipped lines, broken leases); default process.emitWarning. */
  warn?: (message: string) => void;
  /** Owner id written into leases (default host:pid:random). */
  owner?: string;
}

export function checksum(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

export function encodeRecord(r: StudyRecord): string {
  const json = JSON.stringify(r);
  return `${checksum(json)} ${json}\n`;
}

/** Parses one line; null when the checksum or the JSON is wrong. */
export function decodeLine(line: string): StudyRecord | null {
  const sp = line.indexOf(' ');
  if (sp !== 16) return null;
  const json = line.slice(17);
  if (checksum(json) !== line.slice(0, 16)) return null;
  try {
    const r = JSON.parse(json) as StudyRecord;
    return r && typeof r === 'object' && typeof r.op === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** Where a reader stopped: a byte offset, the unterminated tail, and the line count for messages. */
export interface JournalCursor {
  offset: number;
  pending: string;
  lineNo: number;
}

function isCursor(x: unknown): x is JournalCursor {
  return !!x && typeof x === 'object' && typeof (x as JournalCursor).offset === 'number';
}

interface Lease {
  owner: string;
  pid: number;
  host: string;
  expires: number;
}

/** Whether a process with this id exists on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class JournalStorage implements StudyStorage {
  readonly dir: string;
  readonly file: string;
  readonly lockFile: string;
  readonly owner: string;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #warn: (m: string) => void;
  /** Marks async flows running inside withLock (re-entrant calls do not wait for themselves). */
  readonly #inLock = new AsyncLocalStorage<boolean>();
  #queue: Promise<void> = Promise.resolve();

  constructor(dir: string, opts: JournalOptions = {}) {
    this.dir = path.resolve(dir);
    fs.mkdirSync(this.dir, { recursive: true });
    this.file = path.join(this.dir, JOURNAL_FILE);
    this.lockFile = path.join(this.dir, LOCK_FILE);
    this.owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#leaseMs = opts.leaseMs ?? 10_000;
    this.#timeoutMs = opts.lockTimeoutMs ?? 60_000;
    this.#warn = opts.warn ?? ((m) => process.emitWarning(m, { code: 'NT_STUDY_JOURNAL' }));
    if (!fs.existsSync(this.file)) fs.closeSync(fs.openSync(this.file, 'a'));
  }

  async read(cursor?: unknown): Promise<{ records: StudyRecord[]; cursor: JournalCursor }> {
    const c: JournalCursor = isCursor(cursor) ? { ...cursor } : { offset: 0, pending: '', lineNo: 0 };
    const fh = await fs.promises.open(this.file, 'r');
    let text: string;
    try {
      const { size } = await fh.stat();
      if (size <= c.offset) return { records: [], cursor: c };
      const buf = Buffer.alloc(size - c.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, c.offset);
      c.offset += bytesRead;
      text = c.pending + buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    const lines = text.split('\n');
    // The last piece has no newline yet: a write in progress (kept for the next read) or a torn
    // line (a later writer terminates it, and then it is skipped below).
    c.pending = lines.pop()!;
    const out: StudyRecord[] = [];
    for (const line of lines) {
      c.lineNo++;
      if (line === '') continue;
      const r = decodeLine(line);
      if (r) out.push(r);
      else this.#warn(`study journal ${this.file}: line ${c.lineNo} is torn or corrupt (checksum mismatch); skipped`);
    }
    return { records: out, cursor: c };
  }

  async append(records: StudyRecord[]): Promise<void> {
    if (records.length === 0) return;
    const body = records.map(encodeRecord).join('');
    const write = async (): Promise<void> => {
      const fh = await fs.promises.open(this.file, 'a+');
      try {
        const { size } = await fh.stat();
        let prefix = '';
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        }
        await fh.write(prefix + body);
        await fh.sync();
      } finally {
        await fh.close();
      }
    };
    await this.withLock(write);
  }

  #readLease(): Lease | null {
    try {
      return JSON.parse(fs.readFileSync(this.lockFile, 'utf8')) as Lease;
    } catch {
      return null;
    }
  }

  #dead(l: Lease | null): string | null {
    if (!l || typeof l.expires !== 'number') return 'an unreadable lease';
    if (Date.now() > l.expires) return `a lease of ${l.owner} that expired ${new Date(l.expires).toISOString()}`;
    if (l.host === os.hostname() && l.pid !== process.pid && !processAlive(l.pid)) return `a lease of ${l.owner} whose process ${l.pid} is gone`;
    return null;
  }

  async #acquire(): Promise<string> {
    const start = Date.now();
    const me: Lease = { owner: this.owner, pid: process.pid, host: os.hostname(), expires: 0 };
    for (let attempt = 0; ; attempt++) {
      me.expires = Date.now() + this.#leaseMs;
      const text = JSON.stringify(me);
      try {
        fs.writeFileSync(this.lockFile, text, { flag: 'wx' });
        return text;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = fs.existsSync(this.lockFile) ? fs.readFileSync(this.lockFile, 'utf8') : null;
      let lease: Lease | null = null;
      try {
        lease = seen === null ? null : (JSON.parse(seen) as Lease);
      } catch {
        lease = null;
      }
      // An empty/unreadable lock may be one being written right now: only break it once it is old.
      const why = seen === null ? null : lease ? this.#dead(lease) : this.#lockAge() > this.#leaseMs ? 'an unreadable lease' : null;
      if (why) {
        const aside = `${this.lockFile}.${randomBytes(4).toString('hex')}.broken`;
        try {
          fs.renameSync(this.lockFile, aside);
          const got = fs.readFileSync(aside, 'utf8');
          if (got === seen) this.#warn(`study journal ${this.file}: broke ${why}`);
          else {
            // A live lease appeared between our read and the rename: give it back.
            try {
              fs.linkSync(aside, this.lockFile);
            } catch {
              /* someone holds a newer one already */
            }
          }
          fs.rmSync(aside, { force: true });
        } catch {
          /* another process broke it first */
        }
        continue;
      }
      if (Date.now() - start > this.#timeoutMs) {
        throw Object.assign(new Error(`Expected the study lock ${this.lockFile} to be released within ${this.#timeoutMs} ms but received a lease held by ${lease?.owner ?? 'an unknown owner'}`), {
          code: 'ERR_NT_STUDY_LOCKED',
        });
      }
      await sleep(Math.min(50, 2 + attempt * 2));
    }
  }

  #lockAge(): number {
    try {
      return Date.now() - fs.statSync(this.lockFile).mtimeMs;
    } catch {
      return 0;
    }
  }

  #release(text: string): void {
    try {
      if (fs.readFileSync(this.lockFile, 'utf8') === text) fs.rmSync(this.lockFile, { force: true });
    } catch {
      /* already broken by someone who judged us dead */
    }
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inLock.getStore()) return fn();
    // In-process callers queue; across processes the lease decides.
    const prev = this.#queue;
    let done!: () => void;
    this.#queue = new Promise((r) => (done = r));
    await prev;
    try {
      const text = await this.#acquire();
      try {
        return await this.#inLock.run(true, fn);
      } finally {
        this.#release(text);
      }
    } finally {
      done();
    }
  }

  async close(): Promise<void> {}
}

/** @example createStudy({ space, objective, storage: journalStorage('./my-study') }) */
export function journalStorage(dir: string, opts: JournalOptions = {}): JournalStorage {
  return new JournalStorage(dir, opts);
}
