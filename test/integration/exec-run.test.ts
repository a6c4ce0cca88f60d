// Real RUN steps in a busybox root file system: snapshot → overlay (or copy) → sandbox →
// diff → layer, with crun, runc and unshare. Needs root, overlayfs and the tools that
// test/setup/install-tools.sh installs; it fails (never skips) when they are missing.
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CrunRuntime, RuncRuntime, runStep, Snapshotter, UnshareRuntime, writeLayer, type LayerSource, type ProcessSpec, type Runtime } from "../../src/exec/index.js";
import { makeBusyboxTar } from "../helpers/busybox-rootfs.js";
import { tarNames } from "../helpers/oci-reader.js";

let work: string;
let base: LayerSource;
let snaps: Snapshotter;
let lower: string;
let imageTop: string[];

class Collect extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "tbuild-run-"));
  const file = await makeBusyboxTar(work, join(work, "busybox.tar"));
  // The base layer's diff ID is the sha256 of its tar, as the store would record it.
  const { createHash } = await import("node:crypto");
  base = { diffId: `sha256:${createHash("sha256").update(await readFile(file)).digest("hex")}`, path: file };
  snaps = new Snapshotter(join(work, "snapshots"));
  lower = (await snaps.prepareRootfs([base])).rootfs;
  imageTop = (await readdir(lower)).sort();
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function proc(script: string, over: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    argv: ["/bin/sh", "-c", script],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
    cwd: "/",
    user: { uid: 0, gid: 0 },
    hostname: "tbuild-test",
    network: "none",
    ...over,
  };
}

async function run(runtime: Runtime, script: string, over: Partial<ProcessSpec> & { mode?: "overlay" | "copy" } = {}) {
  const stdout = new Collect();
  const stderr = new Collect();
  const r = await runStep({ ...proc(script, over), lowerdirs: [lower], scratch: work, runtime, stdout, stderr, ...(over.mode ? { mode: over.mode } : {}) });
  return { ...r, stdout: stdout.text, stderr: stderr.text };
}

const runtimes: [string, () => Runtime][] = [
  ["crun", () => new CrunRuntime()],
  ["unshare", () => new UnshareRuntime()],
  ["runc", () => new RuncRuntime()],
];

describe.each(runtimes)("RUN with %s", (name, make) => {
  const rt = make();

  it("captures a file, a deletion and a directory as one layer (overlay)", async () => {
    const r = await run(rt, "echo hi > /a; rm /etc/group; mkdir /d");
    try {
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.mode).toBe("overlay");
      expect(r.changes).toEqual([
        { kind: "add", path: "a" },
        { kind: "add", path: "d" },
        { kind: "delete", path: "etc/group" },
      ]);
      const file = join(work, `${name}-layer.tar`);
      await writeLayer(r.changes, r.changesRoot, createWriteStream(file), { sourceDateEpoch: 0 });
      expect(await tarNames(await readFile(file))).toEqual(["a", "d/", "etc/", "etc/.wh.group"]);
    } finally {
      await r.dispose();
    }
  });

  it("runs as USER 1000", async () => {
    const r = await run(rt, "id -u; id -g", { user: { uid: 1000, gid: 1000 } });
    await r.dispose();
    expect(r.stdout).toBe("1000\n1000\n");
  });

  it("honours the working directory and the environment (image env only)", async () => {
    const r = await run(rt, "pwd; env | sort", { cwd: "/home/app", env: ["PATH=/bin", "FOO=bar"] });
    await r.dispose();
    const [pwd, ...env] = r.stdout.trim().split("\n");
    expect(pwd).toBe("/home/app");
    expect(env).toContain("FOO=bar");
    expect(env.join("\n")).not.toMatch(/VITEST|NODE_|npm_/);
  });

  it("shows the image at /, not the host", async () => {
    const r = await run(rt, "ls /");
    await r.dispose();
    expect(r.stdout.trim().split("\n").sort()).toEqual(imageTop);
  });

  it("cannot read a host file outside the root", async () => {
    const secret = join(work, `host-secret-${name}`);
    await writeFile(secret, "TOP SECRET\n");
    const r = await run(rt, `cat ${secret} /proc/1/root${secret} 2>&1; echo status=$?`);
    await r.dispose();
    expect(r.stdout).not.toContain("TOP SECRET");
    expect(r.stdout).toContain("status=1");
  });

  it("propagates exit codes", async () => {
    const r = await run(rt, "exit 42");
    await r.dispose();
    expect(r.exitCode).toBe(42);
    // PID 1 cannot be killed from inside its namespace; a child killed by SIGKILL is 137.
    const k = await run(rt, "sh -c 'kill -9 $$'; exit $?");
    await k.dispose();
    expect(k.exitCode).toBe(137);
  });

  it("network none has only lo; the hostname, hosts and resolv.conf are set; pid 1 is the command", async () => {
    const r = await run(rt, "ls /sys/class/net; hostname; grep -c localhost /etc/hosts; test -s /etc/resolv.conf && echo resolv; echo pid=$$");
    try {
      expect(r.stdout.trim().split("\n")).toEqual(["lo", "tbuild-test", "2", "resolv", "pid=1"]);
      expect(r.changes).toEqual([]);
    } finally {
      await r.dispose();
    }
  });

  it("an opaque directory (rm -rf then mkdir) becomes .wh..wh..opq; the copy fallback gives whiteouts", async () => {
    // (Not /etc: /etc/hosts and /etc/resolv.conf are mount points there, as under Docker.)
    const o = await run(rt, "rm -rf /home && mkdir /home && echo x > /home/new");
    const c = await run(rt, "rm -rf /home && mkdir /home && echo x > /home/new", { mode: "copy" });
    try {
      expect(o.changes).toEqual([
        { kind: "opaque", path: "home" },
        { kind: "add", path: "home/new" },
      ]);
      expect(c.mode).toBe("copy");
      expect(c.changes).toEqual([
        { kind: "delete", path: "home/app" },
        { kind: "add", path: "home/new" },
      ]);
    } finally {
      await o.dispose();
      await c.dispose();
    }
  });
});

describe("RUN layers stack through the snapshotter", () => {
  it("applies a RUN layer on the base as a new chain, sharing unchanged inodes", async () => {
    const r = await run(new CrunRuntime(), "echo hi > /a; rm /etc/group; mkdir /d; chmod 4755 /bin/busybox");
    const file = join(work, "stack.tar");
    const { diffId } = await writeLayer(r.changes, r.changesRoot, createWriteStream(file));
    await r.dispose();
    const top = await snaps.prepareRootfs([base, { diffId, path: file }]);
    expect(await readFile(join(top.rootfs, "a"), "utf8")).toBe("hi\n");
    await expect(readFile(join(top.rootfs, "etc/group"))).rejects.toThrow();
    await expect(readFile(join(lower, "etc/group"), "utf8")).resolves.toContain("root");
    const { lstat } = await import("node:fs/promises");
    expect(((await lstat(join(top.rootfs, "bin/busybox"))).mode & 0o7777).toString(8)).toBe("4755");
    expect(((await lstat(join(lower, "bin/busybox"))).mode & 0o7777).toString(8)).toBe("755");
    expect((await lstat(join(top.rootfs, "etc/passwd"))).ino).toBe((await lstat(join(lower, "etc/passwd"))).ino);
  });
});

describe("timing", () => {
  it("measures RUN true end to end (overlay + runtime + diff + layer) and the runtime alone", async () => {
    const endToEnd: Record<string, number> = {};
    const runtimeOnly: Record<string, number> = {};
    const median = (xs: number[]): number => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
    const { mkdir } = await import("node:fs/promises");
    const { mountOverlay, unmount } = await import("../../src/exec/index.js");
    const ovl = await mkdtemp(join(work, "timing-"));
    const [upper, wk, root] = [join(ovl, "u"), join(ovl, "w"), join(ovl, "m")];
    for (const d of [upper, wk, root]) await mkdir(d);
    await writeFile(join(ovl, "hosts"), "127.0.0.1 localhost\n");
    await mountOverlay({ lowers: [lower], upper, work: wk, target: root });
    try {
      for (const [name, make] of runtimes) {
        const rt = make();
        const all: number[] = [];
        const bare: number[] = [];
        for (let i = 0; i < 8; i++) {
          let t0 = performance.now();
          const r = await runStep({ ...proc("true"), argv: ["/bin/true"], lowerdirs: [lower], scratch: work, runtime: rt });
          await writeLayer(r.changes, r.changesRoot, createWriteStream(join(work, "t.tar")));
          await r.dispose();
          all.push(performance.now() - t0);
          t0 = performance.now();
          await rt.run({ ...proc("true"), argv: ["/bin/true"], rootfs: root, hostsPath: join(ovl, "hosts"), resolvConfPath: join(ovl, "hosts") });
          bare.push(performance.now() - t0);
        }
        endToEnd[name] = median(all);
        runtimeOnly[name] = median(bare);
      }
    } finally {
      await unmount(root);
    }
    console.log(`RUN true, median of 8 (ms): end-to-end ${JSON.stringify(endToEnd)}; runtime alone ${JSON.stringify(runtimeOnly)}`);
    for (const ms of Object.values(endToEnd)) expect(ms).toBeLessThan(5_000);
  });
});
