// Lint throughput on the real-world corpus (../shared/corpus/dockerfiles), side by side with
// dockerfile-utils' validate(content) in the same run. Each side: warm-up, then alternating
// timed rounds over every file; we report files/s from the median round. Writes
// bench/results/lint.json. Goal: tbuild ≥ 3× dockerfile-utils' files/s.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { validate } from "dockerfile-utils";

const here = fileURLToPath(new URL(".", import.meta.url));
const { lintDockerfile, RULES } = await import(join(here, "..", "dist", "src", "lint", "index.js"));

const CORPUS = join(here, "..", "..", "shared", "corpus", "dockerfiles");
const files = readdirSync(CORPUS).sort().map((f) => ({ name: f, text: readFileSync(join(CORPUS, f), "utf8") }));
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

function roundTbuild() {
  let findings = 0;
  for (const f of files) findings += lintDockerfile(f.text, { file: f.name }).length;
  return findings;
}
async function roundUtils() {
  let findings = 0;
  for (const f of files) findings += (await validate(f.text)).length;
  return findings;
}

async function time(fn) {
  const t0 = process.hrtime.bigint();
  const n = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, n };
}

// Warm-up (JIT) for both.
roundTbuild();
await roundUtils();
const t = [];
const u = [];
let tFindings = 0;
let uFindings = 0;
for (let i = 0; i < ROUNDS; i++) {
  globalThis.gc?.();
  const a = await time(roundTbuild);
  globalThis.gc?.();
  const b = await time(roundUtils);
  t.push(a.ms);
  u.push(b.ms);
  tFindings = a.n;
  uFindings = b.n;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tMs = median(t);
const uMs = median(u);
const perRule = {};
for (const f of files) for (const d of lintDockerfile(f.text, { file: f.name })) perRule[d.code] = (perRule[d.code] ?? 0) + 1;

const result = {
  bench: "lint",
  corpus: { files: files.length, bytes },
  rounds: ROUNDS,
  node: process.version,
  tbuild: { medianMs: +tMs.toFixed(1), filesPerSec: Math.round((files.length * 1000) / tMs), mbPerSec: +((bytes / 1e6) * (1000 / tMs)).toFixed(2), findings: tFindings, rules: RULES.length },
  dockerfileUtils: { medianMs: +uMs.toFixed(1), filesPerSec: Math.round((files.length * 1000) / uMs), findings: uFindings },
  speedup: +(uMs / tMs).toFixed(2),
  goal: "tbuild files/s ≥ 3× dockerfile-utils validate()",
  goalMet: uMs / tMs >= 3,
  findingsPerRule: Object.fromEntries(Object.entries(perRule).sort((a, b) => b[1] - a[1])),
};
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "lint.json"), JSON.stringify(result, null, 2) + "\n");
console.log(`tbuild lint:       ${result.tbuild.filesPerSec} files/s (${tMs.toFixed(1)} ms / ${files.length} files)`);
console.log(`dockerfile-utils:  ${result.dockerfileUtils.filesPerSec} files/s (${uMs.toFixed(1)} ms)`);
console.log(`speedup: ${result.speedup}×  goal ≥3×: ${result.goalMet ? "met" : "NOT met"}`);
