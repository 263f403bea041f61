// Runs an ONNX file written by edgefed (ml::export_onnx) in ONNX Runtime
// (the onnxruntime-node npm package: Microsoft's CPU runtime, not our code)
// and compares its outputs with edgefed's own forward pass:
//
//   node run_onnx.mjs DIR
//
// DIR is what edgefed_model_outputs wrote: model.onnx, inputs.f32 (raw
// float32 samples), outputs.f32 (edgefed's outputs for them) and meta.json.
// Passes when every output agrees within 1e-5 relative to max(1, |value|);
// a classifier's "probabilities" must be the softmax of its outputs and
// pick the same class. Prints the largest difference; exits 1 otherwise.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";

const dir = process.argv[2];
const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
const floats = (name) => {
  const b = readFileSync(join(dir, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const inputs = floats("inputs.f32");
const expected = floats("outputs.f32");
const n = meta.samples;
const perOut = meta.output_shape.reduce((a, b) => a * b, 1);
const perIn = meta.input_shape.reduce((a, b) => a * b, 1);
if (inputs.length !== n * perIn || expected.length !== n * perOut) {
  console.error(`FAIL: ${dir}: sizes do not match meta.json`);
  process.exit(1);
}

const session = await ort.InferenceSession.create(join(dir, "model.onnx"), { intraOpNumThreads: 1 });
const feeds = { input: new ort.Tensor("float32", inputs, [n, ...meta.input_shape]) };
const t0 = process.hrtime.bigint();
const result = await session.run(feeds);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;

const out = result.output;
const problems = [];
if (JSON.stringify(out.dims) !== JSON.stringify([n, ...meta.output_shape]))
  problems.push(`output dims ${JSON.stringify(out.dims)} != ${JSON.stringify([n, ...meta.output_shape])}`);
let worst = 0;
let worstAt = -1;
for (let i = 0; i < expected.length; ++i) {
  const e = Math.abs(out.data[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
  if (!(e <= worst)) {
    worst = e;
    worstAt = i;
  }
}
if (!(worst <= 1e-5)) problems.push(`output[${worstAt}] = ${out.data[worstAt]}, edgefed ${expected[worstAt]}`);
if (meta.task === "classification") {
  const p = result.probabilities;
  let sameClass = 0;
  for (let s = 0; s < n; ++s) {
    const row = expected.subarray(s * perOut, (s + 1) * perOut);
    const prow = p.data.subarray(s * perOut, (s + 1) * perOut);
    const m = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let k = 0; k < perOut; ++k) {
      const want = Math.exp(row[k] - m) / z;
      if (!(Math.abs(prow[k] - want) <= 1e-5)) {
        problems.push(`probabilities[${s}][${k}] = ${prow[k]}, softmax of edgefed's ${want}`);
        break;
      }
    }
    const argmax = (a) => a.indexOf(Math.max(...a));
    if (argmax(Array.from(row)) === argmax(Array.from(prow))) ++sameClass;
  }
  if (sameClass !== n) problems.push(`the class differs in ${n - sameClass} of ${n} samples`);
}
console.log(`${dir}: ONNX Runtime ${ort.env.versions?.common ?? ""} ran ${n} samples in ${ms.toFixed(1)} ms; ` +
            `largest relative difference from edgefed ${worst.toExponential(2)} (tolerance 1e-5)`);
for (const p of problems) console.log("FAIL:", p);
process.exit(problems.length ? 1 : 0);
