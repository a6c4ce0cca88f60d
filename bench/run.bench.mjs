// RUN benchmark: a Dockerfile of 40 alternating steps (`RUN echo … > /file-N` and `ENV`)
// FROM the busybox test base, built by tbuild (crun, overlay) and by `buildah bud --layers`
// (overlay storage, --isolation chroot: buildah's fastest sandbox), runs alternating
// between the tools. Cold = --no-cache (base already in each store), cached = the same
// build again. Median of RUNS. Writes bench/results/run.json.
// Goals: cold no slower than buildah; cached ≤ 1/3 of buildah's time.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
// The CLI users run: package.json's bin (the bundle `npm run build` writes).
const CLI = join(here, "..", JSON.parse(fs.readFileSync(join(here, "..", "package.json"), "utf8")).bin.tbuild);
const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-run");
const RUNS = Number(process.env.TBUILD_BENCH_RUNS ?? 3);
const STEPS = 40;

function run(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return { ms, out: r.stdout };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

for (const t of ["buildah", "crun", "umoci"]) {
  if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) throw new Error(`${t} is required: run npm run setup`);
}
fs.rmSync(WORK, { recursive: true, force: true });
fs.mkdirSync(WORK, { recursive: true });
const { buildBusyboxRootfsTar } = await import(join(here, "..", "dist", "test", "helpers", "fixtures.js")).catch(() => ({}));
let baseTar;
if (buildBusyboxRootfsTar) baseTar = await buildBusyboxRootfsTar();
else {
  // dist/ holds only src/: build the same deterministic base with the test helper's recipe via tar.
  const dir = join(WORK, "base-rootfs");
  for (const d of ["bin", "dev", "etc", "home/app", "proc", "root", "sys", "tmp", "usr/bin", "var"]) fs.mkdirSync(join(dir, d), { recursive: true });
  const bb = ["/bin/busybox", "/usr/bin/busybox"].find((p) => fs.existsSync(p));
  if (!bb) throw new Error("busybox-static is required");
  fs.copyFileSync(bb, join(dir, "bin/busybox"));
  fs.chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const a of ["sh", "echo", "cat", "ls", "mkdir", "rm", "id"]) fs.symlinkSync("busybox", join(dir, "bin", a));
  fs.writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
  fs.writeFileSync(join(dir, "etc/group"), "root:x:0:\napp:x:1000:\n");
  baseTar = join(WORK, "base.tar");
  run("tar", ["--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-cf", baseTar, "-C", dir, "."]);
}

const root = join(WORK, "tbuild-store");
run(process.execPath, [CLI, "import", "--root", root, baseTar, "busybox:test"]);
const ociBase = join(WORK, "base-oci.tar");
run(process.execPath, [CLI, "save", "--root", root, "--format", "oci", "-o", ociBase, "busybox:test"]);
const bh = ["--root", join(WORK, "buildah", "root"), "--runroot", join(WORK, "buildah", "run"), "--storage-driver", "overlay"];
run("buildah", [...bh, "pull", "-q", `oci-archive:${ociBase}`]);

const ctx = join(WORK, "ctx");
fs.mkdirSync(ctx);
const lines = ["FROM busybox:test"];
for (let i = 0; i < STEPS / 2; i++) lines.push(`RUN echo step-${i} $V${i - 1} > /file-${i}`, `ENV V${i}=value-${i}`);
fs.writeFileSync(join(ctx, "Dockerfile"), `${lines.join("\n")}\n`);

const tb = (extra) => run(process.execPath, [CLI, "build", "--root", root, "-q", "-t", "bench-run", ...extra, ctx]).ms;
const bud = (extra) => run("buildah", [...bh, "bud", "--isolation", "chroot", "--layers", "--pull-never", "-q", "-t", "bench-run", ...extra, ctx]).ms;

// One warm-up of each (page cache, runtime binaries), not counted.
tb(["--no-cache"]);
bud(["--no-cache"]);
const times = { tbuild: { cold: [], cached: [] }, buildah: { cold: [], cached: [] } };
for (let i = 0; i < RUNS; i++) {
  const order = i % 2 === 0 ? ["tbuild", "buildah"] : ["buildah", "tbuild"];
  for (const tool of order) {
    const f = tool === "tbuild" ? tb : bud;
    times[tool].cold.push(f(["--no-cache"]));
    times[tool].cached.push(f([]));
  }
}

// The image is right: every file is there with the chained ENV values.
const unpackDir = join(WORK, "unpacked");
run("umoci", ["unpack", "--image", `${root}:docker.io/library/bench-run:latest`, unpackDir]);
const last = fs.readFileSync(join(unpackDir, "rootfs", `file-${STEPS / 2 - 1}`), "utf8").trim();
if (last !== `step-${STEPS / 2 - 1} value-${STEPS / 2 - 2}`) throw new Error(`unexpected content ${last}`);

const med = (xs) => Math.round(median(xs));
const result = {
  bench: "run",
  date: new Date().toISOString(),
  steps: STEPS,
  runSteps: STEPS / 2,
  runs: RUNS,
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  buildah: run("buildah", ["--version"]).out.trim(),
  ms: {
    tbuild: { cold: med(times.tbuild.cold), cached: med(times.tbuild.cached) },
    buildah: { cold: med(times.buildah.cold), cached: med(times.buildah.cached) },
  },
  samples: times,
};
result.ratios = {
  cold: +(result.ms.tbuild.cold / result.ms.buildah.cold).toFixed(3),
  cached: +(result.ms.tbuild.cached / result.ms.buildah.cached).toFixed(3),
};
result.goals = { coldNoSlower: result.ratios.cold <= 1, cachedThird: result.ratios.cached <= 1 / 3 };
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "run.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(`cold:   tbuild ${result.ms.tbuild.cold} ms, buildah ${result.ms.buildah.cold} ms (ratio ${result.ratios.cold})`);
console.log(`cached: tbuild ${result.ms.tbuild.cached} ms, buildah ${result.ms.buildah.cached} ms (ratio ${result.ratios.cached})`);
run("buildah", [...bh, "rmi", "--all", "--force"]);
spawnSync("umount", ["-R", join(WORK, "buildah", "root", "overlay")]);
fs.rmSync(WORK, { recursive: true, force: true });
