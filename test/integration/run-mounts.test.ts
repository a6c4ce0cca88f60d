// RUN --mount end to end through the CLI: cache mounts that persist across builds and stay
// out of layers, binds of the context (.dockerignore honoured), of a stage and of an image,
// `rw` binds whose writes are discarded, tmpfs, and secrets that are readable inside and
// found nowhere in the store afterwards.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, filesContaining, imageLayers, makeStore, ref, tb, unpack } from "./run-helpers.js";

let work: string;
let root: string;

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-run-mounts-"));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("type=cache", () => {
  it("keeps its contents across builds and never ends up in a layer", async () => {
    const df = (n: string): string =>
      ["FROM busybox:test", `ARG N=${n}`, "RUN --mount=type=cache,target=/var/cache/thing,id=things echo run-$N >> /var/cache/thing/log && cp /var/cache/thing/log /seen"].join("\n");
    const a = build(work, root, "cache1", df("1"));
    expect(a.code, a.stderr).toBe(0);
    const b = build(work, root, "cache2", df("2"));
    expect(b.code, b.stderr).toBe(0);
    const fs = unpack(work, root, ref("cache2"));
    expect(readFileSync(join(fs, "seen"), "utf8")).toBe("run-1\nrun-2\n");
    // The cache folder's content is in no layer, nor are the stub directories made for it.
    const layers = await imageLayers(root, ref("cache2"));
    const runLayer = layers[layers.length - 1]!.map((e) => e.name);
    expect(runLayer).toEqual(["seen"]);
    expect(existsSync(join(fs, "var/cache"))).toBe(false);
  });

  it("applies uid/gid/mode on creation and honours sharing=locked and private", () => {
    const r = build(work, root, "cacheopts", [
      "FROM busybox:test AS one",
      "RUN --mount=type=cache,target=/c,id=lockme,sharing=locked sh -c 'echo one >> /c/log; sleep 0.5; echo one-end >> /c/log'",
      "FROM busybox:test AS two",
      "RUN --mount=type=cache,target=/c,id=lockme,sharing=locked sh -c 'echo two >> /c/log; sleep 0.5; echo two-end >> /c/log'",
      "FROM busybox:test",
      "COPY --from=one /etc/passwd /p1",
      "COPY --from=two /etc/passwd /p2",
      "USER app",
      "RUN --mount=type=cache,target=/home/app/.cache,uid=1000,gid=1000,mode=0700 stat -c '%u %g %a' /home/app/.cache > /tmp/owner && touch /home/app/.cache/ok",
      "USER root",
      "RUN --mount=type=cache,target=/c,id=lockme,sharing=private cat /c/log > /log",
    ].join("\n"));
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("cacheopts"));
    expect(readFileSync(join(fs, "tmp/owner"), "utf8").trim()).toBe("1000 1000 700");
    // locked: the two steps never interleave.
    const log = readFileSync(join(fs, "log"), "utf8").trim().split("\n");
    expect(log).toHaveLength(4);
    expect([log[0] + "," + log[1], log[2] + "," + log[3]].sort()).toEqual(["one,one-end", "two,two-end"]);
  });
});

describe("type=bind", () => {
  it("binds the context read-only, honouring .dockerignore; rw writes are discarded", () => {
    const files = { "src/a.txt": "from context\n", "src/hidden.txt": "ignored\n", ".dockerignore": "src/hidden.txt\n" };
    const r = build(
      work,
      root,
      "bindctx",
      [
        "FROM busybox:test",
        "RUN --mount=type=bind,source=src,target=/src cat /src/a.txt > /copied && ls /src > /listing && (touch /src/x 2>/dev/null && echo writable || echo readonly) > /ro",
        "RUN --mount=type=bind,source=src,target=/src,rw echo scribble > /src/a.txt && echo new > /src/new && cat /src/a.txt > /rw",
        "RUN --mount=type=bind,target=/ctx ls /ctx > /whole",
      ].join("\n"),
      [],
      files,
    );
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("bindctx"));
    const read = (p: string): string => readFileSync(join(fs, p), "utf8").trim();
    expect(read("copied")).toBe("from context");
    expect(read("listing")).toBe("a.txt");
    expect(read("ro")).toBe("readonly");
    expect(read("rw")).toBe("scribble");
    expect(read("whole").split("\n")).toEqual(["Dockerfile", "src"]); // ignored files are not there
    // The context itself was not touched.
    const ctx = join(work, "ctx-bindctx");
    expect(readFileSync(join(ctx, "src/a.txt"), "utf8")).toBe("from context\n");
    expect(existsSync(join(ctx, "src/new"))).toBe(false);
    expect(existsSync(join(fs, "src"))).toBe(false);
  });

  it("binds a stage's and an image's file system; a symlinked source stays inside it", () => {
    const r = build(work, root, "bindstage", [
      "FROM busybox:test AS tools",
      "RUN mkdir /out && echo built > /out/artifact && ln -s /out/artifact /out/abs-link && ln -s ../../../../../../etc /out/escape",
      "FROM busybox:test",
      "RUN --mount=type=bind,from=tools,source=/out,target=/mnt cat /mnt/artifact > /artifact",
      "RUN --mount=type=bind,from=tools,source=/out/abs-link,target=/one cat /one > /via-link",
      "RUN --mount=type=bind,from=tools,source=/out/escape,target=/esc cat /esc/passwd | head -1 > /escaped",
      "RUN --mount=type=bind,from=busybox:test,source=/etc,target=/img-etc cat /img-etc/group | wc -l > /groups",
    ].join("\n"));
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("bindstage"));
    const read = (p: string): string => readFileSync(join(fs, p), "utf8").trim();
    expect(read("artifact")).toBe("built");
    expect(read("via-link")).toBe("built");
    // ../../.. out of the stage's root resolves to the stage's own /etc, never the host's.
    expect(read("escaped")).toBe("root:x:0:0:root:/root:/bin/sh");
    expect(read("groups")).toBe("4");
  });

  it("a missing bind source fails with E_RUN_MOUNT", () => {
    const r = build(work, root, "bindmissing", ["FROM busybox:test AS s", "RUN true", "FROM busybox:test", "RUN --mount=type=bind,from=s,source=/nope,target=/x true"].join("\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_RUN_MOUNT: bind mount source \/nope does not exist/);
  });
});

describe("type=tmpfs", () => {
  it("is a size-limited tmpfs whose content is not in the layer", async () => {
    const r = build(work, root, "tmpfs", ["FROM busybox:test", "RUN --mount=type=tmpfs,target=/scratch,size=1m df -k /scratch | tail -1 | awk '{print $1, $2}' > /df && echo x > /scratch/file"].join("\n"));
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("tmpfs"));
    expect(readFileSync(join(fs, "df"), "utf8").trim()).toBe("tmpfs 1024");
    const layers = await imageLayers(root, ref("tmpfs"));
    expect(layers[layers.length - 1]!.map((e) => e.name)).toEqual(["df"]);
  });
});

describe("type=secret", () => {
  const VALUE = `tbuild-secret-${Math.random().toString(36).slice(2)}-value`;

  it("is readable inside (file and env) and appears nowhere in the store afterwards", async () => {
    const secretFile = join(work, "secret.txt");
    writeFileSync(secretFile, VALUE);
    const r = build(
      work,
      root,
      "secret",
      [
        "FROM busybox:test",
        "ARG EXPECTED",
        "RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = \"" + "$EXPECTED\" && echo file-ok > /file-ok && stat -c '%a %u' /run/secrets/tok > /secret-mode",
        "RUN --mount=type=secret,id=tok,target=/custom/place,mode=0440,uid=1000 stat -c '%a %u' /custom/place > /custom-mode && test -s /custom/place",
        "RUN --mount=type=secret,id=envtok,env=TOKEN test -n \"$TOKEN\" && printf %s \"$TOKEN\" | wc -c > /env-len && (test -e /run/secrets/envtok && echo present || echo absent) > /env-file",
        "RUN --mount=type=secret,id=absent echo optional-ok > /optional-ok",
      ].join("\n"),
      ["--secret", `id=tok,src=${secretFile}`, "--secret", "id=envtok,env=TBUILD_TEST_SECRET", "--build-arg", `EXPECTED=${VALUE}`],
    );
    // EXPECTED (a build arg) is only there to compare inside; the next test checks the store.
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("secret"));
    const read = (p: string): string => readFileSync(join(fs, p), "utf8").trim();
    expect(read("file-ok")).toBe("file-ok");
    expect(read("secret-mode")).toBe("400 0");
    expect(read("custom-mode")).toBe("440 1000");
    expect(read("env-len")).toBe(String("env-secret-value".length));
    expect(read("env-file")).toBe("absent");
    expect(read("optional-ok")).toBe("optional-ok");
    const layers = await imageLayers(root, ref("secret"));
    for (const l of layers.slice(1)) for (const e of l) expect(e.name).not.toMatch(/^(run|custom)(\/|$)/);
  }, 60_000);

  it("never stores the value: every blob and every file under the root is free of it", () => {
    const secretFile = join(work, "secret2.txt");
    const value = `${VALUE}-2`;
    writeFileSync(secretFile, value);
    const r = build(
      work,
      root,
      "secret2",
      ["FROM busybox:test", "RUN --mount=type=secret,id=tok,required=true wc -c /run/secrets/tok > /len", "RUN --mount=type=secret,id=e,env=SEC,required=true test -n \"$SEC\" && echo ok > /ok"].join("\n"),
      ["--secret", `id=tok,src=${secretFile}`, "--secret", "id=e,env=TBUILD_TEST_SECRET2"],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(value);
    expect(filesContaining(root, value)).toEqual([]);
    expect(filesContaining(root, "env-secret-value-2")).toEqual([]);
    const hist = tb(["history", "--root", root, "--no-trunc", ref("secret2")]);
    expect(hist.stdout).not.toContain(value);
    // No secret folder is left on /dev/shm.
    expect(filesContaining("/dev/shm", value)).toEqual([]);
  });

  it("required=true without the secret fails clearly", () => {
    const r = build(work, root, "secretmissing", ["FROM busybox:test", "RUN --mount=type=secret,id=api_key,required=true cat /run/secrets/api_key"].join("\n"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:2:1: E_RUN_SECRET: secret api_key: not provided/);
    expect(r.stderr).toContain("hint: pass --secret id=api_key,src=FILE");
  });
});

describe("the unshare fallback", () => {
  it("mounts binds (read-only unless rw), tmpfs, caches and secrets too", async () => {
    const secretFile = join(work, "secret-unshare.txt");
    writeFileSync(secretFile, "unshare-secret");
    const r = build(
      work,
      root,
      "unsharemounts",
      [
        "FROM busybox:test AS s",
        "RUN mkdir /o && echo staged > /o/f",
        "FROM busybox:test",
        "RUN --mount=type=bind,source=in.txt,target=/in.txt cat /in.txt > /from-ctx && (echo x > /in.txt 2>/dev/null && echo writable || echo readonly) > /ro",
        "RUN --mount=type=bind,from=s,source=/o,target=/mnt/o,rw echo scribble > /mnt/o/f && cat /mnt/o/f > /rw",
        "RUN --mount=type=tmpfs,target=/scratch,size=1m df -k /scratch | tail -1 | awk '{print $1, $2}' > /df",
        "RUN --mount=type=cache,target=/cache,id=unshare-cache echo c >> /cache/log && cat /cache/log > /cache-seen",
        "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && stat -c '%a' /run/secrets/tok > /secret-mode",
      ].join("\n"),
      ["--runtime", "unshare", "--secret", `id=tok,src=${secretFile}`],
      { "in.txt": "context\n" },
    );
    expect(r.code, r.stderr).toBe(0);
    const fs = unpack(work, root, ref("unsharemounts"));
    const read = (p: string): string => readFileSync(join(fs, p), "utf8").trim();
    expect(read("from-ctx")).toBe("context");
    expect(read("ro")).toBe("readonly");
    expect(read("rw")).toBe("scribble");
    expect(read("df")).toBe("tmpfs 1024");
    expect(read("cache-seen")).toBe("c");
    expect(read("secret-mode")).toBe("400");
    const layers = await imageLayers(root, ref("unsharemounts"));
    for (const l of layers.slice(1)) for (const e of l) expect(e.name).not.toMatch(/^(in\.txt|mnt|scratch|cache|run)(\/|$)/);
    expect(filesContaining(root, "unshare-secret")).toEqual([]);
  });
});

process.env.TBUILD_TEST_SECRET = "env-secret-value";
process.env.TBUILD_TEST_SECRET2 = "env-secret-value-2";
