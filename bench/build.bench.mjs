// Build benchmark: tbuild vs `buildah bud --layers`, side by side in one run, alternating
// the tools, each with its own fresh store (buildah: --root/--runroot in a temp folder,
// overlay driver) and the same FROM scratch Dockerfiles:
//   1. COPY of a 20,000-file context (1–4 KB files): cold build and no-change rebuild;
//   2. COPY of 4 × 128 MiB files: cold build;
//   3. a 3-stage build with COPY --from: cold build and no-change rebuild.
// The floor of a no-change rebuild is node's start plus an lstat walk of the context.
// The floor is timed up front and again right after each tbuild rebuild of the 20k context
// (the machine is shared: a floor from a quieter minute flatters nobody); its median of all
// runs is the reference. Each scenario records the 1-minute load average before and after.
// Writes bench/results/build.json. Goals: no-change rebuild ≤ 1/10 of buildah's and ≤ 2×
// the floor; cold ≤ 1/2 of buildah's.
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import * as fs from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
// The CLI users run: package.json's bin (the bundle `npm run build` writes).
const CLI = join(here, "..", JSON.parse(fs.readFileSync(join(here, "..", "package.json"), "utf8")).bin.tbuild);
const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-build");
const REPS = Number(process.env.BENCH_REPS ?? 3);
const SMALL = 20_000;
const BIG = 4;
const BIG_SIZE = 128 * 1024 * 1024;

function generate() {
  const mark = join(WORK, "complete-v1");
  if (fs.existsSync(mark)) return;
  fs.rmSync(WORK, { recursive: true, force: true });
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const small = join(WORK, "small");
  let n = 0;
  for (let a = 0; n < SMALL; a++) {
    for (let b = 0; b < 10 && n < SMALL; b++) {
      const d = join(small, "src", `pkg${a}`, `mod${b}`);
      fs.mkdirSync(d, { recursive: true });
      for (let f = 0; f < 40 && n < SMALL; f++, n++) {
        const buf = Buffer.allocUnsafe(1024 + Math.floor(rnd() * 3073));
        randomFillSync(buf);
        fs.writeFileSync(join(d, `file${f}.ts`), buf);
      }
    }
  }
  fs.writeFileSync(join(small, "Dockerfile"), "FROM scratch\nCOPY . /app/\nCMD [\"/app/run\"]\n");
  fs.writeFileSync(
    join(small, "Dockerfile.stages"),
    ["FROM scratch AS one", "COPY src/pkg0 /one/", "", "FROM scratch AS two", "COPY src/pkg1 /two/", "", "FROM scratch", "COPY --from=one /one /app/one", "COPY --from=two /two /app/two", "COPY src/pkg2 /app/three/", ""].join("\n"),
  );
  const big = join(WORK, "big");
  fs.mkdirSync(big, { recursive: true });
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < BIG; i++) {
    const fd = fs.openSync(join(big, `blob${i}.bin`), "w");
    for (let w = 0; w < BIG_SIZE; w += chunk.length) fs.writeSync(fd, randomFillSync(chunk));
    fs.closeSync(fd);
  }
  fs.writeFileSync(join(big, "Dockerfile"), "FROM scratch\nCOPY . /data/\n");
  fs.writeFileSync(mark, "");
}

function time(cmd, args, env = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr.toString().slice(-2000)}`);
  return s;
}

let fresh = 0;
function tempRoot(tool) {
  const d = join(WORK, "stores", `${tool}-${fresh++}`);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}
function cleanup(d) {
  if (d.includes("buildah")) spawnSync("buildah", ["--root", join(d, "root"), "--runroot", join(d, "run"), "rm", "--all"], { stdio: "ignore" });
  spawnSync("umount", ["-R", join(d, "root", "overlay")], { stdio: "ignore" });
  fs.rmSync(d, { recursive: true, force: true });
}

const tools = {
  tbuild: (root, ctx, file) => time(process.execPath, [CLI, "build", "--root", root, "-q", "-f", join(ctx, file), "-t", "bench", ctx]),
  buildah: (root, ctx, file) => time("buildah", ["--root", join(root, "root"), "--runroot", join(root, "run"), "--storage-driver", "overlay", "bud", "--layers", "-q", "-f", join(ctx, file), "-t", "bench", ctx]),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Cold and (optionally) no-change rebuild of one scenario, tools alternating. `afterRebuild` runs after each tbuild rebuild. */
function scenario(name, ctx, file, withRebuild, afterRebuild) {
  const res = { tbuild: { cold: [], rebuild: [] }, buildah: { cold: [], rebuild: [] } };
  const loadBefore = loadavg()[0];
  for (let i = 0; i < REPS; i++) {
    for (const tool of i % 2 === 0 ? ["tbuild", "buildah"] : ["buildah", "tbuild"]) {
      const root = tempRoot(tool);
      spawnSync("sync");
      res[tool].cold.push(tools[tool](root, ctx, file));
      if (withRebuild) {
        res[tool].rebuild.push(tools[tool](root, ctx, file));
        if (tool === "tbuild") afterRebuild?.();
      }
      cleanup(root);
    }
  }
  const out = { name, load: { before: loadBefore, after: loadavg()[0] } };
  for (const tool of ["tbuild", "buildah"]) {
    out[tool] = { coldSeconds: median(res[tool].cold), coldRuns: res[tool].cold };
    if (withRebuild) Object.assign(out[tool], { rebuildSeconds: median(res[tool].rebuild), rebuildRuns: res[tool].rebuild });
  }
  out.coldRatio = out.tbuild.coldSeconds / out.buildah.coldSeconds;
  if (withRebuild) out.rebuildRatio = out.tbuild.rebuildSeconds / out.buildah.rebuildSeconds;
  console.log(`${name}: cold tbuild ${out.tbuild.coldSeconds.toFixed(2)}s vs buildah ${out.buildah.coldSeconds.toFixed(2)}s (×${out.coldRatio.toFixed(2)})` +
    (withRebuild ? `; rebuild tbuild ${out.tbuild.rebuildSeconds.toFixed(3)}s vs buildah ${out.buildah.rebuildSeconds.toFixed(3)}s (×${out.rebuildRatio.toFixed(3)})` : ""));
  return out;
}

/** node start + an lstat walk of the context: what any no-change check must at least do. */
function floor(ctx, runs, n) {
  const script = `const fs=require("fs"),p=require("path");let n=0;const w=d=>{for(const e of fs.readdirSync(d)){const f=p.join(d,e);n++;if(fs.lstatSync(f).isDirectory())w(f)}};w(${JSON.stringify(ctx)});`;
  for (let i = 0; i < n; i++) runs.push(time(process.execPath, ["-e", script]));
  return median(runs);
}

generate();
const small = join(WORK, "small");
const big = join(WORK, "big");
const floorRuns = [];
console.log(`floor (node + lstat walk of ${SMALL} files), up front: ${floor(small, floorRuns, 5).toFixed(3)}s`);
const results = [
  scenario("copy-20k-files", small, "Dockerfile", true, () => floor(small, floorRuns, 1)),
  scenario("copy-4x128MiB", big, "Dockerfile", false),
  scenario("three-stages-copy-from", small, "Dockerfile.stages", true),
];
const floorSeconds = median(floorRuns);
console.log(`floor, median of ${floorRuns.length} runs (up front and after each tbuild rebuild): ${floorSeconds.toFixed(3)}s`);
const r0 = results[0];
const goals = {
  rebuildVsBuildah: { value: r0.rebuildRatio, goal: "≤ 0.1", met: r0.rebuildRatio <= 0.1 },
  rebuildVsFloor: { value: r0.tbuild.rebuildSeconds / floorSeconds, goal: "≤ 2", met: r0.tbuild.rebuildSeconds / floorSeconds <= 2 },
  coldSmallVsBuildah: { value: r0.coldRatio, goal: "≤ 0.5", met: r0.coldRatio <= 0.5 },
  coldBigVsBuildah: { value: results[1].coldRatio, goal: "≤ 0.5", met: results[1].coldRatio <= 0.5 },
  coldStagesVsBuildah: { value: results[2].coldRatio, goal: "≤ 0.5", met: results[2].coldRatio <= 0.5 },
};
for (const [k, g] of Object.entries(goals)) console.log(`${k}: ${g.value.toFixed(3)} (goal ${g.goal}) ${g.met ? "met" : "NOT met"}`);
const buildahVersion = spawnSync("buildah", ["--version"]).stdout?.toString().trim();
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(
  join(here, "results", "build.json"),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, buildah: buildahVersion, cpus: cpus().length, reps: REPS, floorSeconds, floorRuns, scenarios: results, goals }, null, 2) + "\n",
);
