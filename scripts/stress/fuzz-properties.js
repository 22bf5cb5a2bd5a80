// Property-based fuzzing (fast-check) of the three parsers that read untrusted bytes: the
// safetensors header parser, the model.json loader and the CSV reader. Shared by the brief CI run
// (test/corpus/fuzz.test.ts) and the long run (scripts/stress/fuzz.js). The property in each case:
// the parser returns, or throws an error whose `code` is one of the codes listed for it; never an
// uncoded error, a crash or a hang.
'use strict';
const fs = require('fs');
const path = require('path');

const SAFETENSORS_CODES = ['ERR_NT_CORRUPT_FILE', 'ERR_NT_WEIGHTS_MISMATCH'];
const MODEL_CODES = ['ERR_NT_CORRUPT_FILE', 'ERR_NT_WEIGHTS_MISMATCH', 'ERR_NT_OUT_OF_MEMORY'];
const CSV_CODES = ['ERR_NT_INVALID_CSV', 'ERR_NT_INVALID_ARGUMENT_VALUE', 'ERR_NT_INVALID_ARGUMENT_TYPE'];

/** Throws (so fast-check shrinks and reports it) unless err carries one of `codes`. */
function expectCoded(err, codes, what) {
  const code = err && typeof err.code === 'string' ? err.code : null;
  if (!codes.includes(code)) {
    const e = new Error(`${what}: expected an error coded ${codes.join(' or ')} but received ${code ?? 'no code'}: ${err && err.stack}`);
    throw e;
  }
}

function headerBytes(json, dataLen) {
  const h = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(dataLen)]);
}

/**
 * @param nt the library (lib/ or dist/lib)
 * @param fc fast-check
 * @param workDir a scratch folder (model folders are written there)
 */
function properties(nt, fc, workDir) {
  const dtype = fc.constantFrom('F32', 'F64', 'I32', 'U8', 'BOOL', 'F16', 'bogus', '', '__proto__');
  const num = fc.oneof(fc.nat(64), fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 53, 1e300, -0, 0.5, Number.MAX_SAFE_INTEGER));
  const name = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toString', '__metadata__', 'a', 'a'));
  const entry = fc.record({ dtype, shape: fc.array(num, { maxLength: 3 }), data_offsets: fc.array(num, { minLength: 0, maxLength: 3 }) }, { requiredKeys: [] });
  const headerObj = fc.dictionary(name, fc.oneof(entry, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 });

  /** Structured headers (mostly well-formed entries) over a data section of random length. */
  const safetensorsStructured = fc.property(headerObj, fc.nat(80), fc.boolean(), (h, dataLen, dup) => {
    let json = JSON.stringify(h);
    if (dup && json.length > 2) json = `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},${json.slice(1)}`;
    try {
      nt.decodeSafetensors(headerBytes(json, dataLen), { expected: { a: { dtype: 'F32', shape: [1] } }, strict: dataLen % 2 === 0 });
    } catch (e) {
      expectCoded(e, SAFETENSORS_CODES, 'decodeSafetensors');
    }
  });

  /** Raw bytes, and valid files with some bytes overwritten. */
  const valid = nt.encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) }, b: { dtype: 'I32', shape: [3], data: new Int32Array(3) } }, { k: 'v' });
  const safetensorsBytes = fc.property(
    fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }).map((edits) => {
      const b = Buffer.from(valid);
      for (const [i, v] of edits) b[i] = v;
      return b;
    })),
    (bytes) => {
      try {
        nt.decodeSafetensors(bytes);
      } catch (e) {
        expectCoded(e, SAFETENSORS_CODES, 'decodeSafetensors');
      }
    },
  );

  /** A saved model folder whose model.json has random values placed at random paths. */
  let base = null;
  async function baseModel() {
    if (base) return base;
    const dir = path.join(workDir, 'fuzz-base');
    const m = nt.sequential([nt.dense({ units: 3, activation: 'relu', inputShape: [2] }), nt.dense({ units: 2 }), nt.dense({ units: 1 })], { seed: 1 });
    m.compile({ optimizer: nt.adam(), loss: 'mse' });
    await m.fit([[1, 2]], [[1]], { epochs: 1 });
    await nt.saveModel(m, dir);
    base = { dir, json: JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) };
    return base;
  }
  function pathsOf(v, prefix = [], out = []) {
    out.push(prefix);
    if (v && typeof v === 'object') for (const k of Object.keys(v)) pathsOf(v[k], [...prefix, k], out);
    return out;
  }
  const hostileValue = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('toString', 'constructor', '__proto__', 'dense', 'input', 'add', -1, 0, 1, 2, 3, 1e9, 2 ** 24, null, [], {}, '../x.safetensors', '/etc/passwd'),
  );
  let counter = 0;
  const modelJson = fc.asyncProperty(fc.array(fc.tuple(fc.nat(), hostileValue, fc.boolean()), { minLength: 1, maxLength: 4 }), async (edits) => {
    const b = await baseModel();
    const j = JSON.parse(JSON.stringify(b.json));
    for (const [pick, value, remove] of edits) {
      const paths = pathsOf(j).filter((p) => p.length > 0);
      const p = paths[pick % paths.length];
      let o = j;
      for (const k of p.slice(0, -1)) o = o[k];
      if (remove && !Array.isArray(o)) delete o[p[p.length - 1]];
      else o[p[p.length - 1]] = value;
    }
    const dir = path.join(workDir, `fuzz-model-${counter++ % 4}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(b.dir, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
    try {
      const { model } = await nt.loadModel(dir);
      model.dispose?.();
    } catch (e) {
      expectCoded(e, MODEL_CODES, `loadModel of ${JSON.stringify(edits)}`);
    }
  });

  const cell = fc.oneof(fc.string({ maxLength: 5 }), fc.double().map(String), fc.constantFrom('1e39', '-1e39', 'NaN', 'Infinity', '"', '""', '"a,b"', '', ' ', '\r', '0x10', '1_0'));
  const csvText = fc.oneof(
    fc.string({ maxLength: 120 }),
    fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { maxLength: 6 }).map((rows) => `a,b,y\n${rows.map((r) => r.join(',')).join(fc.sample(fc.constantFrom('\n', '\r\n'), 1)[0])}`),
  );
  const csv = fc.property(csvText, fc.constantFrom('integer', 'onehot', 'regression'), (text, labels) => {
    try {
      nt.parseCsv(text, { target: 'y', labels });
    } catch (e) {
      expectCoded(e, CSV_CODES, 'parseCsv');
    }
    try {
      nt.parseCsvTable(text);
    } catch (e) {
      expectCoded(e, CSV_CODES, 'parseCsvTable');
    }
  });

  return { safetensorsStructured, safetensorsBytes, modelJson, csv };
}

module.exports = { properties, SAFETENSORS_CODES, MODEL_CODES, CSV_CODES };
