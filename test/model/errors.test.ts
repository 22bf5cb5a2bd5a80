/**
 * Bad input to compile / fit / evaluate / predict / trainOnBatch: clear errors with exact messages
 * (the `Expected <what> for <name> but received <value>` template), the right class and code, and
 * never a crash; the model stays usable after each rejection.
 */
import { Model, NodetrainError, dense, sequential, sgd, adam, tensor } from '../../lib';

function clf(): Model {
  const m = sequential([dense({ units: 3, activation: 'relu', inputShape: [4] }), dense({ units: 3, activation: 'softmax' })], { seed: 1 });
  m.compile({ optimizer: adam(), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}
function reg(): Model {
  const m = sequential([dense({ units: 2, inputShape: [4] })], { seed: 2 });
  m.compile({ optimizer: sgd({ lr: 0.01 }), loss: 'mse' });
  return m;
}
const X = [
  [1, 2, 3, 4],
  [0, 1, 0, 1],
  [2, 2, 2, 2],
];
const Y2 = [
  [1, 0],
  [0, 1],
  [1, 1],
];

async function rejects(p: Promise<unknown> | (() => unknown), cls: new (...a: never[]) => Error, message: string | RegExp, code?: string): Promise<void> {
  let err: unknown = null;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
  if (code) expect((err as { code?: string }).code).toBe(code);
}

describe('data errors', () => {
  // Tensors are passed here: for nested-array input the messages currently name "a disposed
  // Tensor" instead of the shape (see known-bugs.test.ts).
  test('wrong x width (fit, evaluate, predict, trainOnBatch)', async () => {
    const m = reg();
    const bad = tensor([[1, 2, 3]]);
    const y = tensor([[1, 2]]);
    const msg = 'Expected a float32 Tensor of shape [n, 4] for x but received a Tensor of shape [1, 3]';
    await rejects(m.fit(bad, y), RangeError, msg, 'ERR_NT_INVALID_ARGUMENT_VALUE');
    await rejects(m.evaluate(bad, y), RangeError, msg);
    await rejects(m.predict(bad), RangeError, msg);
    await rejects(m.trainOnBatch(bad, y), RangeError, msg);
    expect(bad.disposed).toBe(false); // the caller's tensor is not disposed by a failed call
    bad.dispose();
    y.dispose();
  });

  test('validation data of the wrong width names validationData.x', async () => {
    const m = reg();
    const vx = tensor([[1, 2]]);
    await rejects(m.fit(X, Y2, { validationData: [vx, [[1, 2]]] }), RangeError, 'Expected a float32 Tensor of shape [n, 4] for validationData.x but received a Tensor of shape [1, 2]');
    vx.dispose();
  });

  test('y rows do not match x rows', async () => {
    const m = reg();
    const y = tensor(Y2.slice(0, 2));
    await rejects(m.fit(X, y), RangeError, 'Expected targets for 3 samples (one per row of x) for y but received a Tensor of shape [2, 2]');
    const c = clf();
    const labels = tensor(new Int32Array([0, 1]), [2], 'int32');
    await rejects(c.fit(X, labels), RangeError, 'Expected targets for 3 samples (one per row of x) for y but received a Tensor of shape [2]');
    y.dispose();
    labels.dispose();
  });

  test('y of the wrong width', async () => {
    const m = reg();
    const y = tensor([[1], [2], [3]]);
    await rejects(m.fit(X, y), RangeError, 'Expected a float32 Tensor of shape [3, 2] for y but received a Tensor of shape [3, 1]');
    y.dispose();
  });

  test('integer labels with mse point at a sparse loss', async () => {
    const m = reg();
    const y = tensor(new Int32Array([0, 1, 1]), [3], 'int32');
    await rejects(
      m.fit(X, y),
      RangeError,
      'Expected a float32 Tensor of shape [3, 2] (integer labels need a sparse loss such as sparseCategoricalCrossentropy) for y but received a Tensor of shape [3]',
    );
    y.dispose();
  });

  test('labels out of range, negative or fractional', async () => {
    const c = clf();
    await rejects(c.fit(X, [0, 1, 3]), RangeError, 'Expected a class label in [0, 2] for y[2] but received 3');
    await rejects(c.fit(X, [0, -1, 1]), RangeError, 'Expected a non-negative integer class label for y[1] but received -1');
    await rejects(c.fit(X, [0, 1.5, 1]), RangeError, 'Expected a non-negative integer class label for y[1] but received 1.5');
    const t = tensor(new Int32Array([2, 0, 7]), [3], 'int32');
    await rejects(c.evaluate(X, t), RangeError, 'Expected a class label in [0, 2] for y[2] but received 7');
    await rejects(c.trainOnBatch(X, t), RangeError, 'Expected a class label in [0, 2] for y[2] but received 7');
    t.dispose();
  });

  test('NaN / Infinity in x or y names the row and column', async () => {
    const m = reg();
    await rejects(m.fit([[1, 2, 3, 4], [5, 6, NaN, 8]], [[1, 2], [3, 4]]), RangeError, 'Expected a finite number for x[1][2] but received NaN');
    await rejects(m.predict([[1, 2, 3, Infinity]]), RangeError, 'Expected a finite number for x[0][3] but received Infinity');
    await rejects(m.fit([[1, 2, 3, 4]], [[1, -Infinity]]), RangeError, 'Expected a finite number for y[0][1] but received -Infinity');
  });

  test('disposed tensors', async () => {
    const m = reg();
    const x = tensor(X);
    const y = tensor(Y2);
    x.dispose();
    await rejects(m.fit(x, y), Error, 'Expected a live Tensor for x but received a disposed Tensor', 'ERR_NT_DISPOSED');
    await rejects(m.predict(x), Error, 'Expected a live Tensor for x but received a disposed Tensor', 'ERR_NT_DISPOSED');
    const x2 = tensor(X);
    y.dispose();
    await rejects(m.fit(x2, y), Error, 'Expected a live Tensor for y but received a disposed Tensor', 'ERR_NT_DISPOSED');
    x2.dispose();
  });

  test('x that is not a tensor or array', async () => {
    const m = reg();
    await rejects(m.predict('abc' as never), TypeError, 'Expected a Tensor, a nested number array or a Float32Array for x but received "abc"');
    await rejects(m.fit(X, 5 as never), TypeError, 'Expected a Tensor, a number array or a typed array for y but received 5');
  });

  test('empty input', async () => {
    const m = reg();
    const empty = tensor(new Float32Array(0), [0, 4]);
    await rejects(m.trainOnBatch(empty, tensor(new Float32Array(0), [0, 2])), RangeError, 'Expected at least one sample for x but received a Tensor of shape [0, 4]');
    const p = await m.predict(empty);
    expect(p.shape).toEqual([0, 2]);
    empty.dispose();
  });
});

describe('state and option errors', () => {
  test('fit / evaluate / trainOnBatch before compile: ERR_NT_NOT_COMPILED', async () => {
    const m = sequential([dense({ units: 2, inputShape: [4] })], { seed: 3 });
    const msg = 'The model must be compiled first: call model.compile({optimizer, loss})';
    await rejects(m.fit(X, Y2), NodetrainError, msg, 'ERR_NT_NOT_COMPILED');
    await rejects(m.evaluate(X, Y2), NodetrainError, msg, 'ERR_NT_NOT_COMPILED');
    await rejects(m.trainOnBatch(X, Y2), NodetrainError, msg, 'ERR_NT_NOT_COMPILED');
    await rejects(() => m.getOptimizerState(), NodetrainError, msg, 'ERR_NT_NOT_COMPILED');
    // predict works without compile (inference needs no loss).
    const p = await m.predict(X);
    expect(p.shape).toEqual([3, 2]);
  });

  test('unknown option keys', async () => {
    const m = reg();
    await rejects(m.fit(X, Y2, { epoch: 3 } as never), RangeError, /^Expected only the options 'epochs', .* for fit options but received an option 'epoch'$/);
    await rejects(m.predict(X, { batch: 2 } as never), RangeError, `Expected only the options 'batchSize' for predict options but received an option 'batch'`);
    await rejects(() => m.compile({ optimizer: 'sgd', loss: 'mse', metric: ['mae'] } as never), RangeError, `Expected only the options 'optimizer', 'loss', 'metrics', 'device', 'precision' for compile options but received an option 'metric'`);
    await rejects(() => sgd({ lr: 0.1, momentun: 0.9 } as never), RangeError, /^Expected only the options .* for sgd options but received an option 'momentun'$/);
    await rejects(() => dense({ units: 2, activaton: 'relu' } as never), RangeError, /^Expected only the options .* for dense options but received an option 'activaton'$/);
  });

  test('batchSize, epochs and validationSplit ranges', async () => {
    const m = reg();
    await rejects(m.fit(X, Y2, { batchSize: 0 }), RangeError, 'Expected an integer in [1, 1048576] for batchSize but received 0');
    await rejects(m.fit(X, Y2, { batchSize: 2.5 }), RangeError, 'Expected an integer for batchSize but received 2.5');
    await rejects(m.fit(X, Y2, { epochs: 0 }), RangeError, 'Expected an integer in [1, 10000000] for epochs but received 0');
    await rejects(m.fit(X, Y2, { epochs: '3' as never }), TypeError, 'Expected an integer for epochs but received "3"');
    await rejects(m.fit(X, Y2, { validationSplit: 1 }), RangeError, 'Expected a number >= 0 and < 1 for validationSplit but received 1');
    await rejects(m.fit(X, Y2, { validationSplit: 0.1 }), RangeError, 'Expected a split leaving at least one sample on each side of 3 for validationSplit but received 0.1');
    await rejects(m.evaluate(X, Y2, { batchSize: 0 }), RangeError, 'Expected an integer in [1, 1048576] for batchSize but received 0');
    await rejects(m.predict(X, { batchSize: -1 }), RangeError, 'Expected an integer in [1, 1048576] for batchSize but received -1');
  });

  test('compile errors', () => {
    const m = reg();
    expect(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredLoss' as never })).toThrow(RangeError);
    expect(() => m.compile({ optimizer: 'sgd', loss: 42 as never })).toThrow(TypeError);
    expect(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredLoss' as never })).toThrow(/^Expected one of 'meanSquaredError', .* for loss but received "meanSquaredLoss"$/);
    expect(() => m.compile({ optimizer: 'nadam' as never, loss: 'mse' })).toThrow(/^Expected one of 'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad' for optimizer but received "nadam"$/);
    expect(() => m.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['accuracy'] })).toThrow(
      new RangeError('Expected a classification loss for the accuracy metric (or binaryAccuracy / categoricalAccuracy) for metrics but received "meanSquaredError"'),
    );
    const one = sequential([dense({ units: 1, inputShape: [4] })], { seed: 4 });
    expect(() => one.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })).toThrow(
      new RangeError('Expected an output of at least 2 units for categorical cross-entropy for loss but received "categoricalCrossentropy"'),
    );
    expect(() => m.compile({ optimizer: sgd({ paramGroups: [{ layers: ['nope'] }] }), loss: 'mse' })).toThrow(
      new RangeError('Expected a layer name of this model for paramGroups[0].layers[0] but received "nope"'),
    );
    expect(() => m.compile({ optimizer: sgd({ lr: -1 }), loss: 'mse' })).toThrow(RangeError);
    expect(() => m.compile({ optimizer: { name: 'huber', delta: 0 } as never, loss: { name: 'huber', delta: 0 } })).toThrow(TypeError);
    expect(() => m.compile({ optimizer: 'sgd', loss: { name: 'huber', delta: 0 } })).toThrow(new RangeError('Expected a number > 0 for loss.delta but received 0'));
  });

  test('setWeights errors', () => {
    const m = reg();
    expect(() => m.setWeights({ 'dense_1/kernel': { shape: [4, 3], data: new Float32Array(12) } })).toThrow(
      new RangeError('Expected shape [4, 2] for weights[\'dense_1/kernel\'] but received shape [4,3] with 12 values'),
    );
    expect(() => m.setWeights({ 'dense_1/bias': { shape: [2], data: new Float32Array([1, NaN]) } })).toThrow(
      new RangeError("Expected finite values for weights['dense_1/bias'].data[1] but received NaN"),
    );
    expect(() => m.setWeights({ 'dense_1/bias': { shape: [2], data: [1, 2] as never } })).toThrow(TypeError);
  });

  test('without the divergence guard, a diverging fit rejects with ERR_NT_NON_FINITE and a clear message', async () => {
    const m = sequential([dense({ units: 2, inputShape: [4] })], { seed: 5 });
    m.compile({ optimizer: sgd({ lr: 1e6 }), loss: 'mse' });
    const x = Array.from({ length: 8 }, (_, i) => [i, i * 2, -i, 1]);
    const y = x.map((r) => [r[0] * 3, -r[1]]);
    let err: (Error & { code?: string }) | null = null;
    try {
      await m.fit(x, y, { epochs: 50, batchSize: 8, shuffle: false, divergenceGuard: false });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err).toBeInstanceOf(NodetrainError);
    expect(err!.code).toBe('ERR_NT_NON_FINITE');
    expect(err!.message).toMatch(/^The ((loss|gradient) is not finite|update would overflow the weights) at epoch \d+, batch 1 \(the update was not applied\); lower the learning rate or clip gradients$/);
    // Weights after the error: see known-bugs.test.ts (an overflowing update is applied first).
    expect(m.getWeights()['dense_1/kernel'].data).toHaveLength(8);
  });

  test('a model survives every rejected call above and still trains', async () => {
    const c = clf();
    for (const bad of [() => c.fit(X, [0, 1, 9]), () => c.fit([[1]], [0]), () => c.fit(X, [0, 1, 2], { batchSize: 0 })]) {
      await expect(bad()).rejects.toThrow();
    }
    const h = await c.fit(X, [0, 1, 2], { epochs: 2 });
    expect(h.epoch).toEqual([0, 1]);
  });
});
