import { Tensor, tensor, zeros, ones, fill, NodetrainError } from '../lib';

describe('Tensor', () => {
  it('round-trips nested arrays and typed arrays', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(Array.from(t.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const u = tensor(new Int32Array([7, 8, 9, 10]), [2, 2]);
    expect(u.dtype).toBe('int32');
    expect(u.toArray()).toEqual([[7, 8], [9, 10]]);
    expect(tensor(3.5).toArray()).toBe(3.5);
    expect(zeros([0, 4]).size).toBe(0);
    expect(Array.from(ones([3]).data())).toEqual([1, 1, 1]);
    expect(Array.from(fill([2], -2).data())).toEqual([-2, -2]);
  });

  it('reshapes with an inferred dimension and copies', () => {
    const t = tensor([1, 2, 3, 4, 5, 6]);
    const r = t.reshape([-1, 2]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(() => t.reshape([4, -1])).toThrow('Expected a shape compatible with 6 elements for shape but received [4, -1]');
  });

  it('rejects bad input with clear messages', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(RangeError);
    expect(() => tensor([[1, 2], [3]])).toThrow('Expected an array of length 2 (ragged arrays are not allowed) for values[1] but received an array of length 1');
    expect(() => tensor(['a'] as unknown as number[])).toThrow('Expected a number for values[0] but received "a"');
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('Expected a shape with 3 elements for shape but received [2, 2]');
    expect(() => zeros([2.5])).toThrow('Expected an integer for shape[0] but received 2.5');
  });

  it('fails cleanly after dispose', () => {
    const t = tensor([1, 2]);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    let err: unknown;
    try {
      t.data();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as NodetrainError).code).toBe('ERR_NT_DISPOSED');
    expect(t).toBeInstanceOf(Tensor);
  });
});
