/**
 * The elementwise layer kernels: inverted dropout forward/backward (native/kernels/dropout.cc),
 * activation backward from the output and column-block copies (native/kernels/elementwise.cc),
 * fast and scalar _ref against float64 references on awkward sizes.
 */
import { AWKWARD_SIZES, makeRng, randNormal, randUniform, relErr } from '../helpers/numerics';
import { describeVariants } from '../helpers/variants';
import { call, nbuf, read, SHAPES } from './kernel-call';

const ACT_INDEX = { linear: 0, relu: 1, sigmoid: 5, tanh: 6 } as const;

describeVariants('layer elementwise kernels', () => {
  for (const useRef of [false, true]) {
    const kind = useRef ? '_ref' : 'fast';

    it.each([...AWKWARD_SIZES])(`${kind}: dropout keeps u < keep, scales by 1/keep, and routes gradients through the mask (n = %i)`, (n) => {
      const rng = makeRng();
      const keep = 0.7;
      const x = randNormal(n, 1, 0, rng), u = randUniform(n, 0.5, 0.5, rng), dy = randNormal(n, 1, 0, rng);
      const [xb, ub, mb, yb] = [nbuf(x), nbuf(u), nbuf(n), nbuf(n)];
      call('dropout_forward_f32', useRef, [xb, ub, mb, yb], [n], [keep]);
      const mask = Array.from(u, (v) => (v < keep ? 1 / keep : 0));
      expect(relErr(read(mb, n), mask)).toBeLessThan(1e-7);
      expect(relErr(read(yb, n), Array.from(x, (v, i) => v * mask[i]), 1e-6)).toBeLessThan(1e-6);
      const [dyb, dxb] = [nbuf(dy), nbuf(n)];
      call('dropout_backward_f32', useRef, [dyb, mb, dxb], [n]);
      expect(relErr(read(dxb, n), Array.from(dy, (v, i) => v * mask[i]), 1e-6)).toBeLessThan(1e-6);
      // The mask may replace the draws in place.
      call('dropout_forward_f32', useRef, [xb, ub, ub, yb], [n], [keep]);
      expect(relErr(read(ub, n), mask)).toBeLessThan(1e-7);
    });

    it.each([...AWKWARD_SIZES])(`${kind}: activation backward from the output matches float64 (n = %i)`, (n) => {
      const rng = makeRng();
      const z = randNormal(n, 2, 0, rng), dy = randNormal(n, 1, 0, rng);
      const f = {
        linear: (v: number) => v,
        relu: (v: number) => Math.max(v, 0),
        sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
        tanh: Math.tanh,
      };
      const d = {
        linear: () => 1,
        relu: (y: number) => (y > 0 ? 1 : 0),
        sigmoid: (y: number) => y * (1 - y),
        tanh: (y: number) => 1 - y * y,
      };
      for (const act of ['linear', 'relu', 'sigmoid', 'tanh'] as const) {
        const y = Float32Array.from(z, f[act]);
        const [yb, dyb, dzb] = [nbuf(y), nbuf(dy), nbuf(n)];
        call('act_backward_from_output_f32', useRef, [yb, dyb, dzb], [n, ACT_INDEX[act]]);
        const ref = Array.from(y, (v, i) => dy[i] * d[act](v));
        // float32 products of up to three factors (1 - y*y cancels near saturation): errors
        // relative to the scale of dy.
        const dyNorm = Math.sqrt(dy.reduce((s, v) => s + v * v, 0));
        expect(relErr(read(dzb, n), ref, 1e-2 * dyNorm)).toBeLessThan(1e-4);
      }
    });

    it.each(SHAPES)(`${kind}: column-block copies place and accumulate blocks of [%i, %i]`, (rows, cols) => {
      const rng = makeRng();
      const pad = 3, lds = cols + 2, ldd = cols + pad;
      const src = randNormal(rows * lds, 1, 0, rng);
      const dst0 = randNormal(rows * ldd, 1, 0, rng);
      for (const acc of [false, true]) {
        const [sb, db] = [nbuf(src), nbuf(dst0.slice())];
        call('copy_cols_f32', useRef, [sb, db], [rows, cols, lds, ldd, acc ? 1 : 0]);
        const ref = Array.from(dst0);
        for (let r = 0; r < rows; r++)
          for (let j = 0; j < cols; j++) ref[r * ldd + j] = (acc ? ref[r * ldd + j] : 0) + src[r * lds + j];
        expect(relErr(read(db, rows * ldd), ref, 1e-6)).toBeLessThan(1e-6);
      }
    });
  }

  it('the kernels refuse activations and strides they cannot serve', () => {
    const a = nbuf(4);
    expect(() => call('act_backward_from_output_f32', false, [a, a, a], [4, 2])).toThrow(
      "Expected one of 'linear', 'relu', 'sigmoid', 'tanh' for the act_backward_from_output_f32 activation but received \"leakyRelu\"",
    );
    expect(() => call('copy_cols_f32', true, [a, a], [2, 3, 2, 3, 0])).toThrow(expect.objectContaining({ code: 'ERR_NT_INVALID_ARGUMENT_VALUE' }));
    expect(() => call('dropout_forward_f32', false, [a, a, a, a], [4], [0])).toThrow('Expected a keep probability in (0, 1] for dropout_forward_f32');
  });
});
