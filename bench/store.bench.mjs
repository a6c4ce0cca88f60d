// Store benchmark: `tbuild save` and `tbuild load` of an image with 512 MiB of layers
// (4 × 128 MiB, random bytes) side by side with `tar -cf` / `tar -xf` of the same bytes.
// Runs alternate, warm page cache, median of 5. Writes bench/results/store.json.
// Goal: each within 1.5× of tar. load fsyncs every blob, so it is also compared with
// `tar -xf && sync -f` (the same durability).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist", "src");
const CLI = join(dist, "cli", "main.js");
const { Store } = await import(join(dist, "store", "index.js"));
const { buildConfig } = await import(join(dist, "image", "index.js"));
const tarStream = (await import("tar-stream")).default;

const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-store");
const LAYERS = 4;
const LAYER_SIZE = 128 * 1024 * 1024;
const RUNS = 5;

async function layerTar(i) {
  const pack = tarStream.pack();
  const chunks = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  const body = randomBytes(LAYER_SIZE - 4096);
  await new Promise((res, rej) => pack.entry({ name: `layer${i}/data.bin`, size: body.length, mtime: new Date(0) }, body, (e) => (e ? rej(e) : res())));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

fs.rmSync(WORK, { recursive: true, force: true });
const SRC = join(WORK, "store");
const RAW = join(WORK, "raw");
fs.mkdirSync(RAW, { recursive: true });
const store = await Store.open(SRC);
const layers = [];
for (let i = 0; i < LAYERS; i++) {
  const bytes = await layerTar(i);
  const info = await store.putBlob(bytes);
  layers.push({ diffId: info.digest, size: info.size });
  fs.writeFileSync(join(RAW, `layer${i}.tar`), bytes);
}
const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: layers.map((l) => l.diffId), history: layers.map((_, i) => ({ created_by: `layer ${i}` })) });
await store.putImage({ config, layers, tags: ["bench:512m"] });
const total = layers.reduce((n, l) => n + l.size, 0);

function time(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const archive = join(WORK, "bench.tar");
const plain = join(WORK, "plain.tar");
const res = { save: [], tarCf: [], load: [], tarXf: [], tarXfSync: [] };
for (let r = 0; r < RUNS; r++) {
  fs.rmSync(archive, { force: true });
  fs.rmSync(plain, { force: true });
  res.save.push(time(process.execPath, [CLI, "save", "-o", archive, "bench:512m"], { TBUILD_ROOT: SRC }));
  res.tarCf.push(time("tar", ["-cf", plain, "-C", RAW, "."]));
  const dest = join(WORK, `dest-${r}`);
  const out = join(WORK, `out-${r}`);
  fs.mkdirSync(out, { recursive: true });
  res.load.push(time(process.execPath, [CLI, "load", "-q", "-i", archive], { TBUILD_ROOT: dest }));
  res.tarXf.push(time("tar", ["-xf", plain, "-C", out]));
  // The same extraction made durable, as load is (it fsyncs every blob before renaming it).
  const out2 = join(WORK, `out2-${r}`);
  fs.mkdirSync(out2, { recursive: true });
  res.tarXfSync.push(time("sh", ["-c", `tar -xf "$0" -C "$1" && sync -f "$1"`, plain, out2]));
  fs.rmSync(out2, { recursive: true, force: true });
  fs.rmSync(dest, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
}
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v))]));
const result = {
  bench: "store",
  layers: LAYERS,
  bytes: total,
  runs: RUNS,
  medianMs: m,
  allMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.map(Math.round)])),
  ratio: { saveVsTarCf: +(m.save / m.tarCf).toFixed(2), loadVsTarXf: +(m.load / m.tarXf).toFixed(2), loadVsTarXfSync: +(m.load / m.tarXfSync).toFixed(2) },
  throughputMBs: { save: Math.round(total / 1e6 / (m.save / 1000)), load: Math.round(total / 1e6 / (m.load / 1000)) },
  goal: "save ≤ 1.5× tar -cf, load ≤ 1.5× tar -xf",
  met: m.save / m.tarCf <= 1.5 && m.load / m.tarXf <= 1.5,
  note: "load verifies every digest and fsyncs each blob; tar does neither",
};
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "store.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
fs.rmSync(WORK, { recursive: true, force: true });
