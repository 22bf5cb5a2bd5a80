/**
 * The tabular preprocessing pipeline: type inference, imputation, standardisation, one-hot with an
 * "other" bucket, task detection, target encoding, and a JSON round trip that loses nothing.
 */
import { loadCsvTable, parseCsvTable, Preprocessor } from '../../lib';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRng } from '../helpers/numerics';

const MIXED = `age,city,income,label
31,paris,52000,yes
45,lyon,NA,no
,paris,61000,yes
27,nice,38000,no
52,lyon,71000,yes
38,,45000,no
`;

describe('Preprocessor', () => {
  it('infers types, imputes, standardises and one-hot encodes', () => {
    const t = parseCsvTable(MIXED);
    const p = Preprocessor.fit(t, { target: 'label', missingIndicators: true });
    expect(p.task).toBe('classification');
    expect(p.classNames).toEqual(['no', 'yes']);
    expect(p.columnTypes).toEqual({ age: 'numeric', city: 'categorical', income: 'numeric' });
    expect(p.featureNames).toEqual(['age', 'age (missing)', 'city=lyon', 'city=paris', 'city=nice', 'city=(other)', 'city (missing)', 'income', 'income (missing)']);
    const x = p.transform(t).data() as Float32Array;
    const f = p.numFeatures;
    // age: median of [31, 45, 27, 52, 38] = 38 fills row 3; mean/std over the filled column
    const ages = [31, 45, 38, 27, 52, 38];
    const mean = ages.reduce((a, b) => a + b) / 6;
    const std = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / 6);
    ages.forEach((a, i) => expect(x[i * f]).toBeCloseTo((a - mean) / std, 5));
    expect(x[2 * f + 1]).toBe(1); // age missing in row 3
    expect(x[0 * f + 1]).toBe(0);
    // city: lyon and paris twice, nice once; the empty cell takes the mode (lyon, first by name among ties)
    expect(Array.from(x.subarray(5 * f + 2, 5 * f + 7))).toEqual([1, 0, 0, 0, 1]);
    expect(Array.from(x.subarray(3 * f + 2, 3 * f + 7))).toEqual([0, 0, 1, 0, 0]);
    expect(Array.from(p.transformTarget(t).data())).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('sends rare and unseen categories to the other column', () => {
    const rows = [
      ...Array.from({ length: 5 }, () => ({ c: 'a', y: 1.5 })),
      ...Array.from({ length: 3 }, () => ({ c: 'b', y: 2.5 })),
      { c: 'z', y: 0.5 },
    ];
    const p = Preprocessor.fit(rows, { target: 'y', maxCategories: 2 });
    expect(p.featureNames).toEqual(['c=a', 'c=b', 'c=(other)']);
    expect(Array.from(p.transform([{ c: 'z' }, { c: 'never seen' }, { c: 'b' }]).data())).toEqual([0, 0, 1, 0, 0, 1, 0, 1, 0]);
  });

  it('detects the task from the target, and refuses to guess when it is ambiguous', () => {
    const rng = makeRng(5);
    const n = 200;
    const floats = Array.from({ length: n }, (_, i) => ({ x: i, y: rng.normal() * 3 + 10 }));
    const reg = Preprocessor.fit(floats, { target: 'y' });
    expect(reg.task).toBe('regression');
    expect(reg.decision).toContain('non-integer');
    // pandas writes integer labels as "144.0": numbers, so few distinct values are classes, sorted numerically
    const labels = parseCsvTable('x,y\n1,144.0\n2,12.0\n3,144\n4,7\n');
    const cls = Preprocessor.fit(labels, { target: 'y' });
    expect(cls.task).toBe('classification');
    expect(cls.classNames).toEqual(['7', '12', '144']);
    expect(Array.from(cls.transformTarget(labels).data())).toEqual([2, 1, 2, 0]);
    // many distinct integers: counts or ids? never a silent choice
    const ints = Array.from({ length: n }, (_, i) => ({ x: i, y: i * 3 }));
    expect(() => Preprocessor.fit(ints, { target: 'y' })).toThrow(
      `Expected options.task ('classification' or 'regression') for the target "y" but received 'auto': it holds 200 distinct integer values, which may be class ids or counts`,
    );
    expect(Preprocessor.fit(ints, { target: 'y', task: 'regression' }).task).toBe('regression');
  });

  it('standardises a regression target and maps predictions back', () => {
    const rows = [{ x: 1, y: 10 }, { x: 2, y: 20 }, { x: 3, y: 30.5 }];
    const p = Preprocessor.fit(rows, { target: 'y' });
    const z = p.transformTarget(rows).data() as Float32Array;
    const back = p.inverseTarget(z);
    [10, 20, 30.5].forEach((y, i) => expect(back[i]).toBeCloseTo(y, 4));
    const mean = (z[0] + z[1] + z[2]) / 3;
    expect(Math.abs(mean)).toBeLessThan(1e-6);
  });

  it('keeps the class ids of the training file for a test file holding only some classes', () => {
    const train = parseCsvTable('x,y\n1,cat\n2,dog\n3,eel\n4,cat\n');
    const test = parseCsvTable('x,y\n5,eel\n6,eel\n');
    const p = Preprocessor.fit(train, { target: 'y' });
    expect(Array.from(p.transformTarget(test).data())).toEqual([2, 2]);
    expect(() => p.transformTarget(parseCsvTable('x,y\n1,cow\n'))).toThrow('Expected one of the classes "cat", "dog", "eel" for the target "y" of row 1 but received "cow"');
  });

  it('round-trips through JSON (and a file) without changing any encoding', async () => {
    const t = parseCsvTable(MIXED);
    const p = Preprocessor.fit(t, { target: 'label', missingIndicators: true, maxCategories: 2, ignore: ['age'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-pre-'));
    try {
      const file = path.join(dir, 'p.json');
      fs.writeFileSync(file, JSON.stringify(p.toJSON()));
      const q = Preprocessor.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
      expect(q.toJSON()).toEqual(p.toJSON());
      expect(Array.from(q.transform(t).data())).toEqual(Array.from(p.transform(t).data()));
      const csv = path.join(dir, 'd.csv');
      fs.writeFileSync(csv, MIXED);
      const loaded = await loadCsvTable(csv);
      expect(loaded).toEqual(t);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the argument in every error', () => {
    const t = parseCsvTable(MIXED);
    expect(() => Preprocessor.fit(t, { target: 'nope' })).toThrow('Expected a column of the data ("age", "city", "income", "label") for options.target but received "nope"');
    expect(() => Preprocessor.fit(t, { target: 'age' })).toThrow('Expected a value for the target in every row for the target "age" of row 3 but received ""');
    expect(() => Preprocessor.fit(t, { target: 'label', task: 'regression' })).toThrow('numbers in the target of a regression');
    const p = Preprocessor.fit(t, { target: 'label' });
    expect(() => p.transform([{ age: 'old', city: 'x', income: 1 }])).toThrow('Expected a number for column "age" for row 1 but received "old"');
    expect(() => p.transform([{ age: 1 }])).toThrow('Expected rows with the column "city"');
    expect(() => Preprocessor.fromJSON({ type: 'other' })).toThrow("Expected an object with type 'tabularPreprocessor' for json.type");
  });
});
