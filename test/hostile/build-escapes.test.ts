// Path-escape attacks through real builds (the compiled CLI, a temporary store): symlinks in
// the context that point at host files, sources and destinations with `..`, and a WORKDIR
// aimed at a leaked file descriptor. Each test is named after the advisory it reproduces
// (STYLE.md example 12) and checks that nothing outside the temp root changed: a sentinel
// folder beside the context is snapshotted before and after, and the host paths the attack
// aims at are checked to be absent.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeStore, tb } from "../integration/crash-helpers.js";
import { findImage } from "../helpers/oci-reader.js";
import { imageLayers, ref } from "../integration/run-helpers.js";

let work: string;
let root: string;
let sentinel: string;
let sentinelBefore: string;
const HOST_PASSWD = readFileSync("/etc/passwd");
/** A name unique to this run, for host paths an escape would create. */
const MARK = `tbuild-escape-${randomBytes(4).toString("hex")}`;

/** Every path under `dir` with its type, mode, size and content hash (one line each). */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      const h = st.isFile() ? createHash("sha256").update(readFileSync(p)).digest("hex") : st.isSymbolicLink() ? readlinkSync(p) : "";
      out.push(`${p.slice(dir.length)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${h}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join("\n");
}

function context(name: string, dockerfile: string, setup: (dir: string) => void = () => undefined): string {
  const dir = join(work, `ctx-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "a.txt"), "inside\n");
  setup(dir);
  return dir;
}

function build(ctx: string, tag: string) {
  return tb(root, ["build", "--progress", "plain", "-t", tag, ctx]);
}

beforeAll(async () => {
  ({ work, root } = await makeStore("hostile"));
  sentinel = join(work, "sentinel");
  mkdirSync(join(sentinel, "secret"), { recursive: true });
  writeFileSync(join(sentinel, "secret", "key"), "TOP-SECRET-SENTINEL\n");
  writeFileSync(join(sentinel, "x"), "outside the context\n");
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(() => {
  sentinelBefore = snapshot(sentinel);
});

afterEach(() => {
  expect(snapshot(sentinel), "the sentinel folder outside the context changed").toBe(sentinelBefore);
  for (const p of [`/tmp/${MARK}`, `/${MARK}`, join(work, MARK), `/etc/${MARK}`]) expect(existsSync(p), `${p} was created on the host`).toBe(false);
});

describe("symlinks in the build context", () => {
  it("CVE-2019-14271-style symlink escape: COPY of a folder holding a link to /etc/passwd copies the link, not the host file", async () => {
    const ctx = context("link-in-dir", "FROM busybox:test\nCOPY d/ /d/\n", (dir) => {
      mkdirSync(join(dir, "d"));
      symlinkSync("/etc/passwd", join(dir, "d", "passwd"));
      symlinkSync("../../sentinel/secret/key", join(dir, "d", "up"));
    });
    const r = build(ctx, "link-in-dir");
    expect(r.code, r.stderr).toBe(0);
    const layers = await imageLayers(root, ref("link-in-dir"));
    const top = layers[layers.length - 1]!;
    expect(top.find((e) => e.name === "d/passwd")).toMatchObject({ type: "symlink" });
    expect(top.find((e) => e.name === "d/up")).toMatchObject({ type: "symlink" });
    for (const e of layers.flat()) {
      expect(e.body.includes("TOP-SECRET-SENTINEL"), `${e.name} holds the sentinel's bytes`).toBe(false);
      if (e.name.startsWith("d/")) expect(e.body.length === HOST_PASSWD.length && e.body === HOST_PASSWD.toString(), `${e.name} holds the host's /etc/passwd`).toBe(false);
    }
  });

  it("CVE-2019-14271-style symlink escape: a link named as a COPY source resolves inside the context (BuildKit FollowPaths), so /etc/passwd is not found", () => {
    const ctx = context("link-source", "FROM busybox:test\nCOPY passwd /p\n", (dir) => symlinkSync("/etc/passwd", join(dir, "passwd")));
    const r = build(ctx, "link-source");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Dockerfile:2:1: E_COPY_NO_SOURCE: passwd: not found in the build context");
  });

  it("CVE-2019-14271-style symlink escape: a link to a folder outside the context is not followed into it", () => {
    const ctx = context("link-dir-out", "FROM busybox:test\nCOPY out/secret/key /k\n", (dir) => symlinkSync("../sentinel", join(dir, "out")));
    const r = build(ctx, "link-dir-out");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:2:1: E_(COPY_NO_SOURCE|CONTEXT_ESCAPE): /);
  });
});

describe("paths with ..", () => {
  it("CVE-2019-14271-style context escape: COPY ../x is refused with E_CONTEXT_ESCAPE on its Dockerfile line", () => {
    const ctx = context("dotdot-source", "FROM busybox:test\n\nCOPY ../sentinel/x /x\n");
    const r = build(ctx, "dotdot-source");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Dockerfile:3:1: E_CONTEXT_ESCAPE: forbidden path outside the build context: ../sentinel/x");
    expect(r.stderr).toContain(">>> COPY ../sentinel/x /x");
  });

  it("tar-slip CVE-2018-1002200-style destination: COPY to /../../../../tmp/<mark> stays inside the image", async () => {
    const ctx = context("dotdot-dest", `FROM busybox:test\nCOPY a.txt /../../../../tmp/${MARK}\nWORKDIR ../../../${MARK}-wd\n`);
    const r = build(ctx, "dotdot-dest");
    expect(r.code, r.stderr).toBe(0);
    const names = (await imageLayers(root, ref("dotdot-dest"))).flat().map((e) => e.name.replace(/\/$/, ""));
    expect(names).toContain(`tmp/${MARK}`);
    expect(names).toContain(`${MARK}-wd`);
    expect(names.some((n) => n.includes(".."))).toBe(false);
  });

  it("tar-slip CVE-2018-1002200-style destination through an image symlink: COPY into /evil where /evil -> /../../.. writes nothing on the host", async () => {
    const ctx = context("dest-link", `FROM busybox:test\nRUN ln -s /../../../../ /evil\nCOPY a.txt /evil/tmp/${MARK}\n`);
    const r = build(ctx, "dest-link");
    expect(r.code, r.stderr).toBe(0);
    const names = (await imageLayers(root, ref("dest-link"))).flat().map((e) => e.name);
    expect(names.filter((n) => n.endsWith(MARK)).length).toBe(1);
  });

  // Docker and BuildKit resolve a destination through the image's own symlinks, scoped to
  // the rootfs, so the file lands at /tmp/<mark> and the link is left alone.
  it("destination through an image symlink lands where Docker puts it (/tmp/<mark>)", async () => {
    const names = (await imageLayers(root, ref("dest-link"))).flat().map((e) => e.name);
    expect(names).toContain(`tmp/${MARK}`);
    // The link is left alone: no layer writes a directory `evil/` over it.
    expect(names.filter((n) => n === "evil/" || n.startsWith("evil/"))).toEqual([]);
  });
});

// Docker and BuildKit resolve WORKDIR through the image's own symlinks inside its root: the
// directory the link leads to is used, nothing is written over the link, and the config keeps
// the path as written. An escaping link (/../../..) is re-rooted, so the host is untouched.
describe("WORKDIR through an image symlink", () => {
  it("WORKDIR /link with /link -> /real (absolute, re-rooted) builds, and COPY a.txt ./ lands in /real", async () => {
    const ctx = context("workdir-link", `FROM busybox:test\nRUN mkdir /real && ln -s /real /link && ln -s /../../../../tmp /evilwd\nWORKDIR /evilwd/${MARK}\nWORKDIR /link\nCOPY a.txt ./\n`);
    const r = build(ctx, "workdir-link");
    expect(r.code, r.stderr).toBe(0);
    const layers = await imageLayers(root, ref("workdir-link"));
    const names = layers.flat().map((e) => e.name);
    expect(names).toContain("real/a.txt");
    expect(names).toContain(`tmp/${MARK}/`);
    // The links are left alone: no later layer writes a directory over them, nor anything below them.
    expect(names.filter((n) => /^(link|evilwd)\//.test(n))).toEqual([]);
    // The WORKDIR /link layer only restates the existing /real; COPY writes into it.
    expect(layers.at(-2)!.map((e) => e.name)).toEqual(["real/"]);
    expect(layers.at(-1)!.map((e) => e.name)).toEqual(["real/", "real/a.txt"]);
    expect(findImage(root, ref("workdir-link"))!.config.config?.WorkingDir).toBe("/link");
  });
});

describe("RUN sandbox", () => {
  it("CVE-2024-21626 leaky vessels: a RUN sees no host file descriptor, and WORKDIR /proc/self/fd/7 cannot reach one", () => {
    const ctx = context("leaky-vessels", 'FROM busybox:test\nRUN for f in /proc/self/fd/*; do echo "fd $f -> $(readlink $f)"; done; ls /proc/self/fd | wc -l\nWORKDIR /proc/self/fd/7\nRUN pwd; ls -la . | head -5\n');
    const r = build(ctx, "leaky-vessels");
    // The RUN's own output (progress log lines "#N <secs> <text>") names no host path.
    const logs = (r.stdout + r.stderr).split("\n").filter((l) => /^#\d+ +\d+\.\d+ /.test(l));
    expect(logs.some((l) => l.includes("fd /proc/self/fd/0"))).toBe(true);
    for (const host of [work, root, "/work/", "sentinel", "/sys/fs/cgroup"]) expect(logs.filter((l) => l.includes(host)), `host path ${host} visible in the RUN`).toEqual([]);
    // The runtime refuses the cwd (no such descriptor in the container): a located error, not a leak.
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:4:1: E_(EXEC_RUNTIME|RUN_EXIT): /);
  });
});
