import { Dataset, dataset, tensor, NodetrainError } from '../../lib';

describe('dataset()', () => {
  it('builds x float32 [n, f] and int32 labels from nested arrays', () => {
    const ds = dataset([[1, 2], [3, 4], [5, 6]], [0, 2, 1], { featureNames: ['a', 'b'] });
    expect(ds).toBeInstanceOf(Dataset);
    expect(ds.x.shape).toEqual([3, 2]);
    expect(ds.x.dtype).toBe('float32');
    expect(ds.y.dtype).toBe('int32');
    expect(ds.y.shape).toEqual([3]);
    expect(ds.size).toBe(3);
    expect(ds.numFeatures).toBe(2);
    expect(ds.numClasses).toBe(3);
    expect(ds.targetKind).toBe('labels');
    expect(ds.featureNames).toEqual(['a', 'b']);
    expect(ds.x.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(Array.from(ds.y.data())).toEqual([0, 2, 1]);
    ds.dispose();
    expect(ds.x.disposed).toBe(true);
  });

  it('accepts flat typed arrays with or without a shape, and Tensors', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const a = dataset(x, Int32Array.from([1, 0, 1]));
    expect(a.x.shape).toEqual([3, 2]);
    const b = dataset(x, Float32Array.from([0.5, 1.5]), { xShape: [2, 3] });
    expect(b.x.shape).toEqual([2, 3]);
    expect(b.y.shape).toEqual([2, 1]);
    expect(b.targetKind).toBe('values');
    const c = dataset(tensor([[1], [2]]), tensor(Int32Array.from([0, 1])), { classNames: ['no', 'yes'] });
    expect(c.numClasses).toBe(2);
    expect(c.classNames).toEqual(['no', 'yes']);
    const d = dataset([[1], [2]], [0.25, 3.5], { task: 'regression' });
    expect(d.y.shape).toEqual([2, 1]);
    expect(Array.from(d.y.data())).toEqual([0.25, 3.5]);
    const e = dataset([[1], [2]], [[0, 1], [1, 0]], { numClasses: 2 });
    expect(e.y.shape).toEqual([2, 2]);
    expect(e.numClasses).toBe(2);
  });

  it('names the row and column of a non-finite value', () => {
    const rows = Array.from({ length: 14 }, (_, i) => [i, i + 1, i + 2, i + 3]);
    rows[12][3] = NaN;
    expect(() => dataset(rows, new Array(14).fill(0))).toThrow(new RangeError('Expected a finite number for x[12][3] but received NaN'));
    const flat = new Float32Array(8);
    flat[5] = Infinity;
    expect(() => dataset(flat, [0, 1], { xShape: [2, 4] })).toThrow('Expected a finite number for x[1][1] but received Infinity');
    expect(() => dataset([[1, 2], [3, 4]], [[1], [NaN]])).toThrow('Expected a finite number for y[1][0] but received NaN');
    expect(() => dataset(tensor([[1, -Infinity]]), [0])).toThrow('Expected a finite number for x[0][1] but received -Infinity');
    expect(() => dataset([[1, 'a' as unknown as number]], [0])).toThrow(new TypeError('Expected a number for x[0][1] but received "a"'));
  });

  it('rejects ragged rows, mismatched counts and bad labels', () => {
    expect(() => dataset([[1, 2], [3]], [0, 1])).toThrow(
      new RangeError('Expected a row of 2 numbers (rows must all have the same length) for x[1] but received an array of length 1'),
    );
    expect(() => dataset([[1], [2], [3]], [0, 1])).toThrow(new RangeError('Expected 3 rows (as many as x) for y but received 2 rows'));
    expect(() => dataset([[1], [2]], [0, 1.5])).toThrow(
      "Expected an integer >= 0 (a class label; pass {task: 'regression'} for real-valued targets) for y[1] but received 1.5",
    );
    expect(() => dataset([[1], [2]], Int32Array.from([0, -1]))).toThrow(
      "Expected an integer >= 0 (a class label; pass {task: 'regression'} for real-valued targets) for y[1] but received -1",
    );
    expect(() => dataset([[1], [2]], [0, 2], { numClasses: 2 })).toThrow('Expected a class label in [0, 1] for y[1] but received 2');
    expect(() => dataset([[1], [2]], [0, 1], { featureNames: ['a', 'b'] })).toThrow(
      'Expected an array of 1 names for options.featureNames but received an array of length 2',
    );
    expect(() => dataset([[1]], [0], { bogus: 1 } as never)).toThrow(RangeError);
    expect(() => dataset(new Float32Array(5), [0, 1])).toThrow(
      'Expected a length divisible by the 2 rows of y (or options.xShape) for x but received a Float32Array of length 5',
    );
  });

  it('takes subsets and slices as copies', () => {
    const ds = dataset([[0, 0], [1, 10], [2, 20], [3, 30]], [0, 1, 0, 1], { classNames: ['a', 'b'] });
    const s = ds.subset([3, 1]);
    expect(s.x.toArray()).toEqual([[3, 30], [1, 10]]);
    expect(Array.from(s.y.data())).toEqual([1, 1]);
    expect(s.classNames).toEqual(['a', 'b']);
    expect(ds.slice(1, 3).x.toArray()).toEqual([[1, 10], [2, 20]]);
    expect(() => ds.subset([4])).toThrow('Expected an integer in [0, 3] for indices[0] but received 4');
    s.dispose();
    expect(ds.x.disposed).toBe(false);
    expect(NodetrainError).toBeDefined();
  });
});
