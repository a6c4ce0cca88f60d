// What RUN leaves on disk: a build SIGKILLed mid-RUN leaves an overlay mount and scratch
// folders that the next build removes at its start; `tbuild prune` removes snapshots whose
// layers are gone (and, with -a, every snapshot and cache mount).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { CLI, build, makeStore, tb, writeContext } from "./run-helpers.js";

let work: string;
let root: string;

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-run-cleanup-"));
}, 120_000);
afterAll(() => {
  for (const m of mountsUnder(work)) spawnSync("umount", ["-l", m]);
  rmSync(work, { recursive: true, force: true });
});

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(`${dir}/`));
}

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a killed build", () => {
  it("leaves an overlay mount that the next build unmounts and removes", async () => {
    const ctx = writeContext(join(work, "ctx-killed"), { Dockerfile: "FROM busybox:test\nRUN sleep 2 && echo done > /done\n" });
    // The killed build cannot remove its RUN bundle: keep it (via TMPDIR) in this test's folder.
    const tmp = join(work, "tmp-killed");
    mkdirSync(tmp, { recursive: true });
    const child = spawn(process.execPath, [CLI, "build", "--root", root, "--progress", "plain", "-t", "killed", ctx], { stdio: "ignore", env: { ...process.env, TMPDIR: tmp } });
    const scratch = join(root, "tbuild", "scratch");
    const deadline = Date.now() + 20_000;
    // Wait for the RUN's own overlay (…/step-PID-*/run-*), not the brief overlay probe
    // (tbuild-ovl-probe-*) that a busy machine can also catch.
    const runMounts = () => mountsUnder(scratch).filter((m) => m.includes("/run-") && !m.includes("tbuild-ovl-probe-"));
    while (runMounts().length === 0 && Date.now() < deadline) await sleep(25);
    expect(runMounts().length).toBeGreaterThan(0);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(runMounts().length).toBeGreaterThan(0); // what a killed build leaves
    expect(readdirSync(scratch).some((n) => n.startsWith(`step-${child.pid}-`))).toBe(true);
    // A half-made snapshot of another dead process, and a stale cache-mount staging folder.
    const pid = deadPid();
    const staleSnap = join(root, "tbuild", "snapshots", `.tmp-${pid}-abcdef`);
    mkdirSync(join(staleSnap, "rootfs"), { recursive: true });
    const staleCache = join(root, "tbuild", "cache-mounts", "0123", `.tmp-${pid}-abcdef`);
    mkdirSync(staleCache, { recursive: true });

    const r = build(work, root, "after-kill", "FROM busybox:test\nRUN echo fine > /fine\n");
    expect(r.code, r.stderr).toBe(0);
    expect(mountsUnder(root)).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
    expect(existsSync(staleSnap)).toBe(false);
    expect(existsSync(staleCache)).toBe(false);
    const check = tb(["store", "check", "--root", root]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 60_000);
});

describe("tbuild prune", () => {
  it("removes snapshots whose layers are gone, keeps the rest; -a removes all and the cache mounts", async () => {
    const snaps = (): string[] => readdirSync(join(root, "tbuild", "snapshots")).filter((n) => n !== "scratch" && !n.startsWith(".")).sort();
    // Layers the build cache points at stay (rmi and prune keep them), so a snapshot's layers
    // go only with an image tbuild did not build: here an imported base with its own layer.
    const rootfs = join(work, "other-rootfs");
    mkdirSync(rootfs, { recursive: true });
    expect(spawnSync("tar", ["-xf", await buildBusyboxRootfsTar(), "-C", rootfs]).status).toBe(0);
    writeFileSync(join(rootfs, "marker"), "other base\n");
    const otherTar = join(work, "other.tar");
    expect(spawnSync("tar", ["-cf", otherTar, "-C", rootfs, "."]).status).toBe(0);
    expect(tb(["import", "--root", root, otherTar, "other:base"]).code).toBe(0);
    const kept = snaps();
    const r = build(work, root, "prunable", "FROM other:base\nRUN echo one > /one\nRUN --mount=type=cache,target=/c echo two > /two\n");
    expect(r.code, r.stderr).toBe(0);
    const before = snaps();
    expect(before.length).toBeGreaterThanOrEqual(kept.length + 2);
    for (const s of before) expect(existsSync(join(root, "tbuild", "snapshots", s, "diffids"))).toBe(true);
    expect(tb(["rmi", "--root", root, "prunable", "other:base"]).code).toBe(0);
    const p = tb(["prune", "--root", root]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Deleted \d+ unused snapshots?/);
    expect(snaps()).toEqual(kept); // every snapshot on the removed base is gone; the rest stay
    expect(readdirSync(join(root, "tbuild", "cache-mounts")).length).toBeGreaterThan(0);
    const all = tb(["prune", "-a", "--root", root]);
    expect(all.code, all.stderr).toBe(0);
    expect(snaps()).toEqual([]);
    expect(readdirSync(join(root, "tbuild", "cache-mounts"))).toEqual([]);
    // Building again re-creates what it needs.
    const again = build(work, root, "again", "FROM busybox:test\nRUN echo again > /again\n");
    expect(again.code, again.stderr).toBe(0);
  });
});
