// RUN end to end through the CLI: real sandboxes (crun/runc), a temporary --root and the
// busybox base. Files written, modified and deleted across layers (whiteouts in the tars,
// umoci's tree), USER/WORKDIR/ENV/ARG inside the sandbox, host isolation, failures, network
// modes and multi-stage concurrency. Fails (never skips) when the tools are missing.
import { readFileSync, readdirSync, existsSync, lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findImage } from "../helpers/oci-reader.js";
import { build, imageLayers, makeStore, ref, tb, unpack } from "./run-helpers.js";

let work: string;
let root: string;

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-run-e2e-"));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("RUN layers", () => {
  it("writes, modifies and deletes files across layers, with whiteouts in the layer tars", async () => {
    const r = build(work, root, "layers", [
      "FROM busybox:test",
      "RUN echo hi > /a && mkdir -p /d/e && echo x > /d/e/f && echo keep > /d/k && ln -s /d/k /link",
      "RUN rm /a && echo mod >> /d/e/f && chmod 600 /d/k && rm -rf /d/e",
      "RUN rm -rf /d && mkdir /d && echo n > /d/n && rm /etc/group",
    ].join("\n"));
    expect(r.code, r.stderr).toBe(0);
    const layers = await imageLayers(root, ref("layers"));
    expect(layers).toHaveLength(4);
    const names = (i: number): string[] => layers[i]!.map((e) => e.name.replace(/\/$/, ""));
    expect(names(1)).toEqual(expect.arrayContaining(["a", "d", "d/e", "d/e/f", "d/k", "link"]));
    expect(names(2)).toEqual(expect.arrayContaining(["d/.wh.e", ".wh.a", "d/k"]));
    expect(names(2)).not.toContain("d/e/f");
    expect(layers[2]!.find((e) => e.name === "d/k")!.mode & 0o777).toBe(0o600);
    expect(names(3)).toEqual(expect.arrayContaining(["d/.wh..wh..opq", "d/n", "etc/.wh.group"]));
    // No mount stubs (proc, dev, etc/hosts, etc/resolv.conf) leak into RUN layers.
    for (const i of [1, 2, 3]) {
      for (const n of names(i)) expect(n).not.toMatch(/^(etc\/hosts|etc\/resolv\.conf|run|proc\/|dev\/|sys\/)/);
    }
    const fs = unpack(work, root, ref("layers"));
    expect(existsSync(join(fs, "a"))).toBe(false);
    expect(readdirSync(join(fs, "d"))).toEqual(["n"]);
    expect(readFileSync(join(fs, "d/n"), "utf8")).toBe("n\n");
    expect(existsSync(join(fs, "etc/group"))).toBe(false);
    expect(lstatSync(join(fs, "link")).isSymbolicLink()).toBe(true);
  });

  it("honours USER and WORKDIR, sees ENV and build args, and not the host", () => {
    const r = build(
      work,
      root,
      "userdir",
      [
        "FROM busybox:test",
        "ARG GREETING=hello",
        "ENV WHO=world",
        "WORKDIR /srv/app",
        "USER app",
        'RUN id -u > /tmp/uid && id -g > /tmp/gid && pwd > /tmp/pwd && echo "$GREETING $WHO" > /tmp/env && hostname > /tmp/host',
        `RUN ls / > /tmp/root-listing && (test -e ${work} && echo visible || echo hidden) > /tmp/host-visible && cat /proc/1/cmdline | tr '\\0' ' ' > /tmp/pid1`,
        "USER root",
        "RUN touch /rootfile",
      ].join("\n"),
      ["--build-arg", "GREETING=bonjour"],
    );
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("userdir"));
    const read = (p: string): string => readFileSync(join(fs, p), "utf8").trim();
    expect(read("tmp/uid")).toBe("1000");
    expect(read("tmp/gid")).toBe("1000");
    expect(read("tmp/pwd")).toBe("/srv/app");
    expect(read("tmp/env")).toBe("bonjour world");
    expect(read("tmp/host")).toBe("buildkitsandbox");
    expect(read("tmp/host-visible")).toBe("hidden");
    expect(read("tmp/pid1")).toMatch(/^\/bin\/sh -c ls \//);
    expect(read("tmp/root-listing").split("\n")).not.toContain("work");
    // Files the non-root user wrote are owned by them in the layer.
    expect(lstatSync(join(fs, "tmp/uid")).uid).toBe(1000);
    expect(lstatSync(join(fs, "rootfile")).uid).toBe(0);
    // The build arg is in the history (BuildKit's `|1 GREETING=…`), the env in the config.
    const cfg = JSON.parse(tb(["inspect", "--root", root, ref("userdir")]).stdout) as unknown;
    expect(JSON.stringify(cfg)).toContain("WHO=world");
  });

  it("a failing RUN stops the build: exit 1, BuildKit's message, the Dockerfile line, a clean store", () => {
    const before = findImage(root, ref("failing"));
    expect(before).toBeUndefined();
    const tagsBefore = JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { manifests: unknown[] };
    const r = build(work, root, "failing", ["FROM busybox:test", "RUN echo ok > /ok", "RUN echo about to fail; exit 7", "RUN echo never"].join("\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('process "/bin/sh -c echo about to fail; exit 7" did not complete successfully: exit code: 7');
    expect(r.stderr).toMatch(/Dockerfile:3:1: E_RUN_EXIT/);
    expect(r.stderr).toContain(">>> RUN echo about to fail; exit 7");
    expect(r.stderr).toContain("about to fail"); // the command's own output reached the user
    expect(r.stderr).not.toContain("[4/4] RUN echo never"); // the next step never started
    expect(findImage(root, ref("failing"))).toBeUndefined();
    const tagsAfter = JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { manifests: unknown[] };
    expect(tagsAfter.manifests.length).toBe(tagsBefore.manifests.length);
    const check = tb(["store", "check", "--root", root]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("store is clean");
    expect(readdirSync(join(root, "tbuild", "scratch"))).toEqual([]);
    expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
  });

  it("a RUN that is killed by a signal reports 128+n", () => {
    const r = build(work, root, "killed", ["FROM busybox:test", "RUN sh -c 'kill -9 $$' && true"].join("\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("did not complete successfully: exit code: 137");
  });
});

describe("RUN --network and --security", () => {
  it("--network=none has only loopback; default and host see the host's interfaces", () => {
    const r = build(work, root, "net", [
      "FROM busybox:test",
      "RUN --network=none ls /sys/class/net > /none",
      "RUN --network=host ls /sys/class/net > /host",
      "RUN ls /sys/class/net > /default",
    ].join("\n"));
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("net"));
    const list = (p: string): string[] => readFileSync(join(fs, p), "utf8").trim().split(/\s+/);
    expect(list("none")).toEqual(["lo"]);
    const hostIfs = readdirSync("/sys/class/net").sort();
    expect(list("host").sort()).toEqual(hostIfs);
    expect(list("default").sort()).toEqual(hostIfs);
  });

  it("--security=insecure is refused with the line", () => {
    const r = build(work, root, "insecure", ["FROM busybox:test", "RUN --security=insecure true"].join("\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:2:1: E_PLAN_INVALID: RUN --security=insecure is not allowed/);
  });
});

describe("multi-stage", () => {
  it("runs independent stages' RUN steps concurrently", () => {
    const ctx = ["FROM busybox:test AS a", "RUN sleep 1 && echo a > /a", "FROM busybox:test AS b", "RUN sleep 1 && echo b > /b", "FROM busybox:test", "COPY --from=a /a /a", "COPY --from=b /b /b"].join("\n");
    const r = build(work, root, "concurrent", ctx, ["--progress", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { type: string; time: number; id?: number; steps?: { id: number; name: string }[] });
    const plan = events.find((e) => e.type === "plan")!;
    const idOf = (needle: string): number => plan.steps!.find((s) => s.name.includes(needle))!.id;
    const [ra, rb] = [idOf("echo a"), idOf("echo b")];
    const at = (type: string, id: number): number => events.find((e) => e.type === type && e.id === id)!.time;
    // Both RUNs start before either ends, and the two 1 s sleeps take well under 2 s together.
    expect(at("step-start", rb)).toBeLessThan(at("step-done", ra));
    expect(at("step-start", ra)).toBeLessThan(at("step-done", rb));
    expect(Math.max(at("step-done", ra), at("step-done", rb)) - Math.min(at("step-start", ra), at("step-start", rb))).toBeLessThan(1900);
    const fs = unpack(work, root, ref("concurrent"));
    expect(readFileSync(join(fs, "a"), "utf8")).toBe("a\n");
    expect(readFileSync(join(fs, "b"), "utf8")).toBe("b\n");
  });
});
