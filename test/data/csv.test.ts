import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { createRng, loadCsv, parseCsv, NodetrainError } from '../../lib';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-csv-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

async function rejects(p: Promise<unknown>): Promise<NodetrainError> {
  try {
    await p;
  } catch (e) {
    return e as NodetrainError;
  }
  throw new Error('expected a rejection');
}

const IRIS = [
  'sepal_length,sepal_width,petal_length,petal_width,species',
  '5.1,3.5,1.4,0.2,setosa',
  '7.0,3.2,4.7,1.4,versicolor',
  '6.3,3.3,6.0,2.5,virginica',
  '4.9,3.0,1.4,0.2,setosa',
  '',
  '',
].join('\n');

describe('loadCsv', () => {
  it('loads features and maps string labels to sorted ids', async () => {
    const p = write('iris.csv', IRIS);
    const ds = await loadCsv(p, { target: 'species', labels: 'integer' });
    expect(ds.x.shape).toEqual([4, 4]);
    expect(ds.featureNames).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    expect(ds.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(ds.numClasses).toBe(3);
    expect(Array.from(ds.y.data())).toEqual([0, 1, 2, 0]);
    expect(Array.from(ds.x.data())).toEqual(Array.from(Float32Array.from([5.1, 3.5, 1.4, 0.2, 7.0, 3.2, 4.7, 1.4, 6.3, 3.3, 6.0, 2.5, 4.9, 3.0, 1.4, 0.2])));
  });

  it('selects columns, one-hot encodes and takes the target by index', async () => {
    const p = write('iris2.csv', IRIS);
    const ds = await loadCsv(p, { target: 4, columns: ['petal_width', 0], labels: 'onehot' });
    expect(ds.featureNames).toEqual(['petal_width', 'sepal_length']);
    expect(ds.x.toArray()).toEqual([[0.2, 5.1], [1.4, 7.0], [2.5, 6.3], [0.2, 4.9]].map((r) => r.map(Math.fround)));
    expect(ds.y.toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]);
  });

  it('parses RFC 4180 quoting: escaped quotes, delimiters and line breaks inside quotes, CRLF', async () => {
    const text = 'name,"x, the first",y\r\n"a ""quoted"" label",1,"2.5"\r\n"multi\nline",3,4\r\n  \r\n';
    const p = write('quoted.csv', text);
    const ds = await loadCsv(p, { target: 'name', labels: 'integer' });
    expect(ds.featureNames).toEqual(['x, the first', 'y']);
    expect(ds.classNames).toEqual(['a "quoted" label', 'multi\nline']);
    expect(ds.x.toArray()).toEqual([[1, 2.5], [3, 4]]);
    // Line numbers after a quoted line break count physical lines.
    const bad = write('quoted-bad.csv', 'name,x\n"multi\nline",1\nq,zz\n');
    expect((await rejects(loadCsv(bad, { target: 'name', labels: 'integer' }))).message).toBe(
      `Expected a number for column "x" at line 4 of ${bad} but received "zz"`,
    );
  });

  it('reads headerless files with column indices, other delimiters, integer labels and regression', async () => {
    const p = write('semi.csv', '1;2;7\n3;4;0\n5;6;3\n');
    const ds = await loadCsv(p, { target: 2, header: false, delimiter: ';', labels: 'integer' });
    expect(ds.x.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(Array.from(ds.y.data())).toEqual([7, 0, 3]);
    expect(ds.numClasses).toBe(8);
    expect(ds.classNames).toBeUndefined();
    const r = await loadCsv(p, { target: 0, header: false, delimiter: ';', labels: 'regression' });
    expect(r.y.toArray()).toEqual([[1], [3], [5]]);
    expect(r.x.toArray()).toEqual([[2, 7], [4, 0], [6, 3]]);
    const e = await rejects(loadCsv(p, { target: 'y', header: false, delimiter: ';', labels: 'integer' }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`Expected a 0-based column index (${p} is read without a header) for options.target but received "y"`);
  });

  it('uses given class names and reports an unknown class', async () => {
    const p = write('cls.csv', 'a,c\n1,dog\n2,cat\n3,cow\n');
    const ds = await loadCsv(p, { target: 'c', labels: 'integer', classNames: ['dog', 'cat', 'cow', 'eel'] });
    expect(Array.from(ds.y.data())).toEqual([0, 1, 2]);
    expect(ds.numClasses).toBe(4);
    const e = await rejects(loadCsv(p, { target: 'c', labels: 'integer', classNames: ['dog', 'cat'] }));
    expect(e.message).toBe(`Expected one of the classes "dog", "cat" (options.classNames) for column "c" at line 4 of ${p} but received "cow"`);
  });

  it('names the file, line and column of bad content', async () => {
    const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
    for (let i = 2; i <= 20; i++) lines.push(i === 17 ? '5.0,3.0,1.0,abc,setosa' : '5.0,3.0,1.0,0.1,setosa');
    const p = write('iris.csv', lines.join('\n'));
    const e = await rejects(loadCsv(p, { target: 'species', labels: 'integer' }));
    expect(e).toBeInstanceOf(NodetrainError);
    expect(e.code).toBe('ERR_NT_INVALID_CSV');
    expect(e.message).toBe(`Expected a number for column "petal_width" at line 17 of ${p} but received "abc"`);

    const cases: [string, string][] = [
      ['a,b,y\n1,2,0\n3,4\n', `Expected 3 fields for line 3 of %s but received 2`],
      ['a,b,y\n1,,0\n', `Expected a number for column "b" at line 2 of %s but received ""`],
      ['a,b,y\n1,Infinity,0\n', `Expected a number for column "b" at line 2 of %s but received "Infinity"`],
      ['a,b,y\n1,2,\n', `Expected a class label for column "y" at line 2 of %s but received ""`],
      ['a,b,y\n1,"2\n,0\n', `Expected a closing quote for the field that starts at line 2 of %s but received the end of the file`],
      ['a,b,y\n1,"2"x,0\n', `Expected a delimiter or a line end after the closing quote for line 2 of %s but received "x"`],
      ['', `Expected a header row or data for %s but received an empty file`],
    ];
    for (const [i, [text, msg]] of cases.entries()) {
      const f = write(`bad${i}.csv`, text);
      expect((await rejects(loadCsv(f, { target: 'y', labels: 'integer' }))).message).toBe(msg.replace('%s', f));
    }
  });

  it('rejects a missing target column and bad options', async () => {
    const p = write('t.csv', 'a,b\n1,2\n');
    const e = await rejects(loadCsv(p, { target: 'label', labels: 'integer' }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe(`Expected a column of ${p} ("a", "b") for options.target but received "label"`);
    expect((await rejects(loadCsv(p, { target: 5, labels: 'integer' }))).message).toBe('Expected an integer in [0, 1] for options.target but received 5');
    expect((await rejects(loadCsv(p, { target: 'a', columns: ['a'], labels: 'integer' }))).message).toBe(
      'Expected a feature column other than the target for options.columns[0] but received "a"',
    );
    expect((await rejects(loadCsv(p, { target: 'a', labels: 'maybe' as never }))).message).toBe(
      "Expected one of 'onehot', 'integer', 'regression' for options.labels but received \"maybe\"",
    );
    expect((await rejects(loadCsv(p, { target: 'a', labels: 'integer', delimiter: ';;' }))).message).toBe(
      'Expected a single character other than a quote or a line break for options.delimiter but received ";;"',
    );
    expect((await rejects(loadCsv(path.join(dir, 'nope.csv'), { target: 'a', labels: 'integer' }))).code).toBe('ENOENT');
  });

  it('parses a large file across chunk boundaries exactly like parseCsv of the whole text', async () => {
    // Quoted fields with line breaks and CRLF endings are spread so that some straddle the 1 MiB chunks.
    const rows: string[] = ['"f,1",f2,label'];
    let seed = 7;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const n = 100000;
    for (let i = 0; i < n; i++) {
      const a = (rand() * 200 - 100).toFixed(4);
      const b = (rand() * 10).toExponential(3);
      const cls = ['x', 'y"y', 'z\nz', 'w,w'][Math.floor(rand() * 4)];
      rows.push(`${a},"${b}","${cls.replace(/"/g, '""')}"`);
    }
    const text = '\ufeff' + rows.join('\r\n') + '\r\n';
    expect(text.length).toBeGreaterThan(2 << 20);
    const p = write('big.csv', text);
    const ds = await loadCsv(p, { target: 'label', labels: 'integer' });
    const ref = parseCsv(text, { target: 'label', labels: 'integer' });
    expect(ds.size).toBe(n);
    expect(ds.featureNames).toEqual(['f,1', 'f2']);
    expect(ds.classNames).toEqual(['w,w', 'x', 'y"y', 'z\nz']);
    expect(Buffer.from((ds.x.data() as Float32Array).buffer).equals(Buffer.from((ref.x.data() as Float32Array).buffer))).toBe(true);
    expect(Array.from(ds.y.data())).toEqual(Array.from(ref.y.data()));
    // Spot-check against the source rows.
    for (const i of [0, 12345, n - 1]) {
      const [a] = rows[i + 1].split(',');
      expect(ds.x.data()[i * 2]).toBe(Math.fround(Number(a)));
    }
    // Tiny chunks put a boundary inside quotes, at "" escapes, between CR and LF and after the BOM.
    const head = '\ufeff' + rows.slice(0, 300).join('\r\n') + '\r\n\r\n';
    const hp = write('head.csv', head);
    const headRef = parseCsv(head, { target: 'label', labels: 'integer' });
    expect(headRef.size).toBe(299);
    for (const chunkSize of [1, 2, 3, 7, 64, 1000]) {
      const h = await loadCsv(hp, { target: 'label', labels: 'integer', chunkSize });
      expect(h.x.toArray()).toEqual(headRef.x.toArray());
      expect(h.y.toArray()).toEqual(headRef.y.toArray());
      expect(h.featureNames).toEqual(['f,1', 'f2']);
    }
    // An error past the first chunk still has the right line number.
    const broken = rows.slice();
    broken[50001] = 'oops,1,x';
    const bp = write('big-bad.csv', broken.join('\n'));
    const lineOf = broken.slice(0, 50001).reduce((acc, r) => acc + r.split('\n').length, 0) + 1;
    expect((await rejects(loadCsv(bp, { target: 'label', labels: 'integer' }))).message).toBe(
      `Expected a number for column "f,1" at line ${lineOf} of ${bp} but received "oops"`,
    );
  });
});

describe('parseCsv', () => {
  it('parses text with a default name in messages', () => {
    const ds = parseCsv('a,y\n1,0\n2,1', { target: 'y', labels: 'integer' });
    expect(ds.x.toArray()).toEqual([[1], [2]]);
    expect(() => parseCsv('a,y\nx,0\n', { target: 'y', labels: 'integer' })).toThrow(
      'Expected a number for column "a" at line 2 of CSV text but received "x"',
    );
    expect(() => parseCsv('a,y\nx,0\n', { target: 'y', labels: 'integer' }, 'mem.csv')).toThrow('at line 2 of mem.csv');
  });

  it('reads numbers exactly as Number() does, in every notation', () => {
    const rng = createRng(2024);
    const samples = ['0', '-0', '+7', '.5', '5.', '-.25', '007.50', ' 3.25 ', '1e3', '-2.5E-3', '0x1F', '123456789012345', '1234567890123456789',
      '0.1', '0.30000000000000004', '3.4028234663852886e38', '-3.4028235e38', '1e-45', '999999999999999.9'];
    for (let i = 0; i < 2000; i++) {
      const digits = 1 + rng.int(17);
      let m = '';
      for (let d = 0; d < digits; d++) m += String(rng.int(10));
      const dot = rng.int(digits + 1);
      let s = rng.int(3) === 0 ? m : `${m.slice(0, dot)}.${m.slice(dot)}`;
      if (s === '.') s = '0';
      if (rng.int(2)) s = `-${s}`;
      if (rng.int(10) === 0) s += `e${rng.int(50) - 30}`; // stays within float32's range (17 digits e19 < 3.4e38)
      samples.push(s);
    }
    const text = 'v,y\n' + samples.map((s) => `${s},0`).join('\n');
    const got = parseCsv(text, { target: 'y', labels: 'integer' }).x.data();
    samples.forEach((s, i) => {
      expect([s, got[i]]).toEqual([s, Math.fround(Number(s))]);
      expect(Object.is(got[i], Math.fround(Number(s)))).toBe(true);
    });
  });
});
