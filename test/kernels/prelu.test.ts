/**
 * PReLU kernels (native/kernels/prelu.cc), fast and scalar _ref, against float64 on awkward
 * shapes: y = x > 0 ? x : alpha[j] * x; dx = x > 0 ? dy : alpha[j] * dy; dalpha[j] = sum over
 * rows of dy * x where x < 0. Also the prelu op end to end: its gradients in a compiled plan
 * match central finite differences of the loss.
 */
import { binding } from '../../lib/native';
import { makeRng, randNormal, randUniform, relErr } from '../helpers/numerics';
import { describeVariants } from '../helpers/variants';
import { call, nbuf, read, SHAPES } from './kernel-call';

describeVariants('prelu kernels', () => {
  for (const useRef of [false, true]) {
    const kind = useRef ? '_ref' : 'fast';
    it.each(SHAPES)(`${kind}: forward and backward match float64 on [%i, %i]`, (rows, cols) => {
      const rng = makeRng();
      const x = randNormal(rows * cols, 1, 0, rng);
      const alpha = randUniform(cols, 0.5, 0.2, rng);
      const dy = randNormal(rows * cols, 1, 0, rng);
      const [xb, ab, yb] = [nbuf(x), nbuf(alpha), nbuf(rows * cols)];
      call('prelu_forward_f32', useRef, [xb, ab, yb], [rows, cols]);
      const y = Array.from(x, (v, i) => (v > 0 ? v : alpha[i % cols] * v));
      expect(relErr(read(yb, rows * cols), y, 1e-6)).toBeLessThan(1e-6);

      const [dyb, dxb, dab] = [nbuf(dy), nbuf(rows * cols), nbuf(cols)];
      call('prelu_backward_f32', useRef, [xb, ab, dyb, dxb, dab], [rows, cols]);
      const dx = Array.from(dy, (g, i) => (x[i] > 0 ? g : alpha[i % cols] * g));
      const da = new Float64Array(cols);
      for (let i = 0; i < rows * cols; i++) if (x[i] < 0) da[i % cols] += dy[i] * x[i];
      expect(relErr(read(dxb, rows * cols), dx, 1e-6)).toBeLessThan(1e-6);
      const scale = Math.sqrt(rows) * Math.sqrt(cols);
      expect(relErr(read(dab, cols), da, 1e-3 * scale)).toBeLessThan(1e-5);

      // Either output may be skipped.
      const dx2 = nbuf(rows * cols);
      call('prelu_backward_f32', useRef, [xb, ab, dyb, dx2, null], [rows, cols]);
      expect(relErr(read(dx2, rows * cols), dx, 1e-6)).toBeLessThan(1e-6);
    });
  }

  it('the kernels check their extents', () => {
    const x = nbuf(6), a = nbuf(2);
    expect(() => call('prelu_forward_f32', false, [x, a, x], [2, 3])).toThrow(
      'Expected at least 3 elements for buffer 1 of prelu_forward_f32 but received 2',
    );
    expect(() => call('prelu_backward_f32', true, [x, a, x, null, null], [-1, 3])).toThrow(
      expect.objectContaining({ code: 'ERR_NT_INVALID_ARGUMENT_VALUE' }),
    );
  });
});

describe('prelu op in a compiled plan', () => {
  it('its parameter gradients and those upstream match central finite differences', async () => {
    const b = binding();
    const rng = makeRng();
    const rows = 5, inW = 4, hid = 3;
    const spec = {
      nodes: [
        { op: 'input', name: 'in', inputs: [], attrs: { units: inW } },
        { op: 'dense', name: 'd1', inputs: [0], attrs: { units: hid } },
        { op: 'prelu', name: 'p', inputs: [1] },
        { op: 'dense', name: 'd2', inputs: [2], attrs: { units: 2 } },
      ],
      output: 3,
      loss: { kind: 'meanSquaredError' as const },
      metrics: [],
      optimizer: { kind: 'sgd' as const, lr: 0 },
      targetWidth: 2,
      sparseLabels: false,
      seed: 3,
    };
    const m = new b.NativeModel(spec, rows);
    const info = m.paramInfo();
    expect(info.map((p) => p.name)).toEqual(['d1/kernel', 'd1/bias', 'p/alpha', 'd2/kernel', 'd2/bias']);
    expect(info[2].shape).toEqual([hid]);
    const params = randNormal(m.numParams, 0.8, 0, rng);
    const alpha = info[2];
    for (let j = 0; j < hid; j++) params[alpha.offset + j] = 0.1 + 0.2 * j;
    m.writeParams(params);
    const x = nbuf(randNormal(rows * inW, 1, 0, rng));
    const y = nbuf(randNormal(rows * 2, 1, 0, rng));
    await m.trainBatch(x, y, rows, inW); // lr 0: gradients only
    const grads = m.readGrads();
    const lossAt = async (p: Float32Array): Promise<number> => {
      m.writeParams(p);
      return (await m.evaluate(x, y, rows, inW, rows)).loss;
    };
    const h = 1e-2;
    const fd = new Float64Array(m.numTrainable);
    for (let i = 0; i < m.numTrainable; i++) {
      const p = params.slice();
      p[i] += h;
      const up = await lossAt(p);
      p[i] -= 2 * h;
      const down = await lossAt(p);
      fd[i] = (up - down) / (2 * h);
    }
    const alphaGrads = grads.slice(alpha.offset, alpha.offset + hid);
    expect(Math.max(...Array.from(alphaGrads, Math.abs))).toBeGreaterThan(0);
    expect(relErr(grads, fd, 1e-3)).toBeLessThan(2e-2);
    expect(relErr(alphaGrads, fd.slice(alpha.offset, alpha.offset + hid), 1e-3)).toBeLessThan(2e-2);
  });
});
