/**
 * Normalisation kernels (native/kernels/norm.cc): layer norm and batch norm forward (batch and
 * moving statistics), backward (through batch statistics and frozen), and the moving-statistics
 * update, fast and scalar _ref, each against a float64 reference on awkward shapes.
 */
import { makeRng, randNormal, randUniform, relErr } from '../helpers/numerics';
import { describeVariants } from '../helpers/variants';
import { call, nbuf, read, SHAPES } from './kernel-call';

const TOL = 2e-5;

function layerNorm64(x: Float32Array, rows: number, cols: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number) {
  const y = new Float64Array(rows * cols);
  const stats = new Float64Array(2 * rows);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[r * cols + j];
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[r * cols + j] - mean) ** 2;
    v /= cols;
    const rstd = 1 / Math.sqrt(v + eps);
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
    for (let j = 0; j < cols; j++) y[r * cols + j] = (x[r * cols + j] - mean) * rstd * (gamma ? gamma[j] : 1) + (beta ? beta[j] : 0);
  }
  return { y, stats };
}

// Gradients of L = sum(dy * y) through layer norm, from its definition.
function layerNormBackward64(x: Float32Array, dy: Float32Array, rows: number, cols: number, gamma: Float32Array | null, eps: number) {
  const { stats } = layerNorm64(x, rows, cols, null, null, eps);
  const dx = new Float64Array(rows * cols);
  const dgamma = new Float64Array(cols);
  const dbeta = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const mu = stats[2 * r], rstd = stats[2 * r + 1];
    let s1 = 0, s2 = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (x[r * cols + j] - mu) * rstd;
      const g = dy[r * cols + j] * (gamma ? gamma[j] : 1);
      dgamma[j] += dy[r * cols + j] * xh;
      dbeta[j] += dy[r * cols + j];
      s1 += g;
      s2 += g * xh;
    }
    for (let j = 0; j < cols; j++) {
      const xh = (x[r * cols + j] - mu) * rstd;
      const g = dy[r * cols + j] * (gamma ? gamma[j] : 1);
      dx[r * cols + j] = rstd * (g - s1 / cols - (xh * s2) / cols);
    }
  }
  return { dx, dgamma, dbeta, stats };
}

function batchStats64(x: Float32Array, rows: number, cols: number, eps: number) {
  const mean = new Float64Array(cols), v = new Float64Array(cols), rstd = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    for (let r = 0; r < rows; r++) mean[j] += x[r * cols + j];
    mean[j] /= rows;
    for (let r = 0; r < rows; r++) v[j] += (x[r * cols + j] - mean[j]) ** 2;
    v[j] /= rows;
    rstd[j] = 1 / Math.sqrt(v[j] + eps);
  }
  return { mean, v, rstd };
}

function apply64(x: Float32Array, rows: number, cols: number, mean: ArrayLike<number>, rstd: ArrayLike<number>, gamma: Float32Array | null, beta: Float32Array | null) {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < cols; j++) y[r * cols + j] = (x[r * cols + j] - mean[j]) * rstd[j] * (gamma ? gamma[j] : 1) + (beta ? beta[j] : 0);
  return y;
}

describeVariants('layer norm kernels', () => {
  for (const useRef of [false, true]) {
    const kind = useRef ? '_ref' : 'fast';
    it.each(SHAPES)(`${kind}: forward and backward match float64 on [%i, %i]`, (rows, cols) => {
      const rng = makeRng();
      const eps = 1e-3;
      const x = randNormal(rows * cols, 2, 0.5, rng);
      const gamma = randUniform(cols, 1, 0.5, rng);
      const beta = randUniform(cols, 1, 0, rng);
      const dy = randNormal(rows * cols, 1, 0, rng);
      for (const affine of [true, false]) {
        const g = affine ? gamma : null, b = affine ? beta : null;
        const ref = layerNorm64(x, rows, cols, g, b, eps);
        const [xb, gb, bb, sb, yb] = [nbuf(x), g ? nbuf(g) : null, b ? nbuf(b) : null, nbuf(2 * rows), nbuf(rows * cols)];
        call('layer_norm_forward_f32', useRef, [xb, gb, bb, sb, yb], [rows, cols], [eps]);
        expect(relErr(read(yb, rows * cols), ref.y, 1e-6)).toBeLessThan(TOL);
        expect(relErr(read(sb, 2 * rows), ref.stats)).toBeLessThan(TOL);
        const bw = layerNormBackward64(x, dy, rows, cols, g, eps);
        const [dyb, dgb, dbb, dxb] = [nbuf(dy), nbuf(cols), nbuf(cols), nbuf(rows * cols)];
        call('layer_norm_backward_f32', useRef, [xb, sb, dyb, gb, dgb, dbb, dxb], [rows, cols]);
        const scale = Math.sqrt(dy.reduce((s, v) => s + v * v, 0)) * Math.max(...bw.stats.filter((_, i) => i % 2 === 1));
        // dx cancels (dy - mean - xhat * mean): errors are relative to the scale of its terms.
        expect(relErr(read(dxb, rows * cols), bw.dx, 1e-2 * scale)).toBeLessThan(1e-4);
        expect(relErr(read(dgb, cols), bw.dgamma, 1e-2 * scale)).toBeLessThan(1e-4);
        expect(relErr(read(dbb, cols), bw.dbeta, 1e-2 * scale)).toBeLessThan(1e-4);
      }
    });
  }
});

describeVariants('batch norm kernels', () => {
  for (const useRef of [false, true]) {
    const kind = useRef ? '_ref' : 'fast';
    it.each(SHAPES)(`${kind}: batch statistics, inference, backward and moving update match float64 on [%i, %i]`, (rows, cols) => {
      const rng = makeRng();
      const eps = 1e-3;
      const x = randNormal(rows * cols, 1.5, -0.3, rng);
      const gamma = randUniform(cols, 1, 0.5, rng);
      const beta = randUniform(cols, 1, 0, rng);
      const dy = randNormal(rows * cols, 1, 0, rng);
      const st = batchStats64(x, rows, cols, eps);
      const [xb, gb, bb, mb, rb, vb, yb] = [nbuf(x), nbuf(gamma), nbuf(beta), nbuf(cols), nbuf(cols), nbuf(cols), nbuf(rows * cols)];
      call('batch_norm_forward_f32', useRef, [xb, gb, bb, mb, rb, vb, yb], [rows, cols], [eps]);
      expect(relErr(read(mb, cols), st.mean, 1e-6)).toBeLessThan(TOL);
      expect(relErr(read(vb, cols), st.v, 1e-6)).toBeLessThan(TOL);
      expect(relErr(read(rb, cols), st.rstd)).toBeLessThan(TOL);
      expect(relErr(read(yb, rows * cols), apply64(x, rows, cols, st.mean, st.rstd, gamma, beta), 1e-6)).toBeLessThan(TOL);

      // Inference on moving statistics.
      const mm = randUniform(cols, 1, 0, rng), mv = randUniform(cols, 0.5, 1, rng);
      const [mmb, mvb, m2, r2, y2] = [nbuf(mm), nbuf(mv), nbuf(cols), nbuf(cols), nbuf(rows * cols)];
      call('batch_norm_inference_f32', useRef, [xb, gb, bb, mmb, mvb, m2, r2, y2], [rows, cols], [eps]);
      const rstdM = Array.from(mv, (v) => 1 / Math.sqrt(v + eps));
      expect(relErr(read(y2, rows * cols), apply64(x, rows, cols, mm, rstdM, gamma, beta), 1e-6)).toBeLessThan(TOL);

      // Backward through the batch statistics (float64 from the definition).
      const dx = new Float64Array(rows * cols), dg = new Float64Array(cols), db = new Float64Array(cols);
      for (let j = 0; j < cols; j++) {
        let sd = 0, sdx = 0;
        for (let r = 0; r < rows; r++) {
          const xh = (x[r * cols + j] - st.mean[j]) * st.rstd[j];
          sd += dy[r * cols + j];
          sdx += dy[r * cols + j] * xh;
        }
        dg[j] = sdx;
        db[j] = sd;
        for (let r = 0; r < rows; r++) {
          const xh = (x[r * cols + j] - st.mean[j]) * st.rstd[j];
          dx[r * cols + j] = gamma[j] * st.rstd[j] * (dy[r * cols + j] - sd / rows - (xh * sdx) / rows);
        }
      }
      const [dyb, dgb, dbb, dxb] = [nbuf(dy), nbuf(cols), nbuf(cols), nbuf(rows * cols)];
      call('batch_norm_backward_f32', useRef, [xb, dyb, mb, rb, gb, dgb, dbb, dxb], [rows, cols, 0]);
      const scale = Math.sqrt(dy.reduce((s, v) => s + v * v, 0)) * Math.max(...st.rstd);
      // dx cancels (dy - mean - xhat * mean): errors are relative to the scale of its terms.
      expect(relErr(read(dxb, rows * cols), dx, 1e-2 * scale)).toBeLessThan(1e-4);
      expect(relErr(read(dgb, cols), dg, 1e-2 * scale)).toBeLessThan(1e-4);
      expect(relErr(read(dbb, cols), db, 1e-2 * scale)).toBeLessThan(1e-4);

      // Frozen: an affine map per feature.
      const dxf = nbuf(rows * cols);
      call('batch_norm_backward_f32', useRef, [xb, dyb, m2, r2, gb, null, null, dxf], [rows, cols, 1]);
      const frozen = Array.from(dy, (v, i) => gamma[i % cols] * rstdM[i % cols] * v);
      expect(relErr(read(dxf, rows * cols), frozen, 1e-6)).toBeLessThan(TOL);

      // Moving statistics: moving = momentum * moving + (1 - momentum) * batch.
      const mom = 0.9;
      call('batch_norm_update_moving_f32', useRef, [mb, vb, mmb, mvb], [cols], [mom]);
      const expMean = Array.from(mm, (v, j) => mom * v + (1 - mom) * st.mean[j]);
      const expVar = Array.from(mv, (v, j) => mom * v + (1 - mom) * st.v[j]);
      // The blend of two O(1) terms can cancel: errors relative to the terms' scale.
      expect(relErr(read(mmb, cols), expMean, 1e-2 * Math.sqrt(cols))).toBeLessThan(1e-4);
      expect(relErr(read(mvb, cols), expVar, 1e-2 * Math.sqrt(cols))).toBeLessThan(1e-4);
    });
  }

  it('the kernels check their extents instead of reading past a buffer', () => {
    const x = nbuf(6), small = nbuf(2);
    expect(() => call('batch_norm_forward_f32', false, [x, null, null, small, small, small, x], [2, 3], [1e-3])).toThrow(
      'Expected at least 3 elements for buffer 3 but received 2',
    );
    expect(() => call('layer_norm_forward_f32', true, [x, null, null, small, x], [2, 4], [1e-3])).toThrow(
      expect.objectContaining({ code: 'ERR_NT_INVALID_ARGUMENT_VALUE' }),
    );
  });
});
