// Planner throughput on the real-world corpus (../shared/corpus/dockerfiles): every file is
// planned with no base image configs (unknown bases are empty) and a hasher that accepts any
// source, so the time is parsing + decoding + planning + key hashing. Warm-up, then timed
// rounds; reports files/s and steps/s from the median round and counts TbuildErrors by code.
// Writes bench/results/plan.json.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const { planBuild } = await import(join(here, "..", "dist", "src", "plan", "index.js"));
const { hashPreimage, isTbuildError } = await import(join(here, "..", "dist", "src", "util", "index.js"));

const CORPUS = join(here, "..", "..", "shared", "corpus", "dockerfiles");
const files = readdirSync(CORPUS).sort().map((f) => ({ name: f, text: readFileSync(join(CORPUS, f), "utf8") }));
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const platform = { os: "linux", architecture: "amd64" };
const resolver = { resolve: async () => undefined };
const hasher = { hash: async (req) => ({ digest: hashPreimage("bench.selection", req), files: {} }) };

async function round() {
  let planned = 0;
  let steps = 0;
  const errors = {};
  for (const f of files) {
    try {
      const plan = await planBuild({ dockerfile: f.text, file: f.name, platform, resolver, hasher });
      planned++;
      for (const s of plan.stages) steps += s.steps.length;
    } catch (e) {
      if (!isTbuildError(e)) throw new Error(`${f.name}: uncaught ${e?.stack ?? e}`);
      errors[e.code] = (errors[e.code] ?? 0) + 1;
    }
  }
  return { planned, steps, errors };
}

await round();
const times = [];
let last;
for (let i = 0; i < ROUNDS; i++) {
  const t0 = process.hrtime.bigint();
  last = await round();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const result = {
  files: files.length,
  planned: last.planned,
  steps: last.steps,
  errors: last.errors,
  medianMs: Math.round(median * 10) / 10,
  filesPerSecond: Math.round(files.length / (median / 1000)),
  stepsPerSecond: Math.round(last.steps / (median / 1000)),
};
console.log(`plan: ${result.files} files (${result.planned} planned, ${result.steps} steps) in ${result.medianMs} ms median → ${result.filesPerSecond} files/s, ${result.stepsPerSecond} steps/s`);
console.log(`errors (TbuildError by code): ${JSON.stringify(result.errors)}`);
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "plan.json"), JSON.stringify(result, null, 2) + "\n");
