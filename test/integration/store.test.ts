// The image lifecycle through the compiled CLI with a temporary --root, read back with the
// test OCI reader and with skopeo, umoci and podman (installed by test/setup; never skipped).
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import tar from "tar-stream";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { buildTar } from "../helpers/tar-builder.js";
import { findImage, listBlobs, readLayout, snapshotStore, verifyLayout } from "../helpers/oci-reader.js";
import { tempDirs } from "../helpers/temp-dirs.js";
import { sh, tb, tbOk } from "./store-helpers.js";

const tempDir = tempDirs();

let rootfs: string;
const BB = "docker.io/library/busybox:test";

function importBusybox(root: string, ref = "busybox:test", extra: string[] = []): string {
  return tbOk(root, ["import", rootfs, ref, ...extra]).trim();
}

/** Rewrite a tar, passing each entry's bytes through `edit` (which may return undefined to drop it). */
async function rewriteTar(src: string, dest: string, edit: (name: string, body: Buffer) => Buffer | undefined): Promise<void> {
  const extract = tar.extract();
  const pack = tar.pack();
  const out: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  extract.end(readFileSync(src));
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const body = edit(entry.header.name, Buffer.concat(chunks));
    if (body) await new Promise<void>((res, rej) => pack.entry({ ...entry.header, size: body.length }, body, (e) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await collecting;
  writeFileSync(dest, Buffer.concat(out));
}

beforeAll(async () => {
  rootfs = await buildBusyboxRootfsTar();
});

describe("import, images, tag, inspect, history", () => {
  it("imports a rootfs tar as a one-layer image the OCI reader sees", () => {
    const root = tempDir("imp");
    const id = importBusybox(root, "busybox:test", ["--change", 'CMD ["sh"]', "--change", "ENV A=1 B=two", "--change", "WORKDIR /srv", "--change", "EXPOSE 8080", "--change", "LABEL k=v", "--change", "USER app"]);
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    const img = findImage(root, BB)!;
    expect(img.configDigest).toBe(id);
    expect(img.layers).toHaveLength(1);
    expect(img.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
    expect(img.layers[0]!.digest).toBe(img.config.rootfs.diff_ids[0]);
    expect(img.layers[0]!.size).toBe(readFileSync(rootfs).length);
    expect(img.config.config).toMatchObject({ Cmd: ["sh"], Env: ["A=1", "B=two"], WorkingDir: "/srv", ExposedPorts: { "8080/tcp": {} }, Labels: { k: "v" }, User: "app" });
    const out = tbOk(root, ["images"]);
    expect(out.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(out).toMatch(new RegExp(`busybox\\s+test\\s+${id.slice(7, 19)}\\s+.*ago\\s+\\d`));
    expect(tbOk(root, ["images", "-q"]).trim()).toBe(id.slice(7, 19));
    expect(tbOk(root, ["images", "-q", "--no-trunc"]).trim()).toBe(id);
  });

  it("tags, lists by repository, inspects and shows history", () => {
    const root = tempDir("tag");
    const id = importBusybox(root);
    tbOk(root, ["tag", "busybox:test", "localhost:5000/team/bb:v1"]);
    tbOk(root, ["tag", id.slice(7, 15), "bb2"]);
    expect(readLayout(root).map((i) => i.ref).sort()).toEqual(["docker.io/library/bb2:latest", BB, "localhost:5000/team/bb:v1"]);
    const filtered = tbOk(root, ["image", "ls", "localhost:5000/team/bb"]);
    expect(filtered.trim().split("\n")).toHaveLength(2);
    const json = tbOk(root, ["images", "--format", "json"]).trim().split("\n").map((l) => JSON.parse(l));
    expect(json).toHaveLength(3);
    const [ins] = JSON.parse(tbOk(root, ["inspect", "bb2"])) as Record<string, unknown>[];
    expect(ins).toMatchObject({ Id: id, Architecture: expect.any(String), Os: "linux", RootFS: { Type: "layers" } });
    expect((ins!.RepoTags as string[]).sort()).toEqual(["bb2:latest", "busybox:test", "localhost:5000/team/bb:v1"]);
    expect(ins!.RepoDigests).toContain(`busybox@${findImage(root, BB)!.manifestDigest}`);
    const hist = tbOk(root, ["history", "busybox:test"]);
    expect(hist.split("\n")[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(hist).toContain("tbuild import");
    expect(hist).toMatch(/Imported from /);
    const bad = tb(root, ["tag", "busybox:test", "Bad/Name"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("E_REF_INVALID");
    const missing = tb(root, ["inspect", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("E_STORE_NOT_FOUND");
  });

  it("rmi untags, refuses an ID with several tags without -f, and deletes unshared blobs", () => {
    const root = tempDir("rmi");
    const id = importBusybox(root);
    tbOk(root, ["tag", "busybox:test", "other:1"]);
    const conflict = tb(root, ["rmi", id.slice(7, 19)]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/E_STORE_CONFLICT.*must be forced/);
    expect(tbOk(root, ["rmi", "other:1"])).toBe("Untagged: other:1\n");
    expect(listBlobs(root)).toHaveLength(3);
    const out = tbOk(root, ["image", "rm", "busybox:test"]);
    expect(out).toContain("Untagged: busybox:test\n");
    expect(out).toContain(`Deleted: ${id}\n`);
    expect(listBlobs(root)).toEqual([]);
    expect(readLayout(root)).toEqual([]);
  });
});

describe("save and load", () => {
  it("save → rmi → load round-trips to the same image ID", () => {
    const root = tempDir("rt");
    const id = importBusybox(root);
    const before = findImage(root, BB)!;
    const archive = join(tempDir("rt-out"), "bb.tar");
    tbOk(root, ["save", "-o", archive, "busybox:test"]);
    tbOk(root, ["rmi", "busybox:test"]);
    expect(tbOk(root, ["load", "-i", archive])).toBe("Loaded image: busybox:test\n");
    const after = findImage(root, BB)!;
    expect(after.configDigest).toBe(id);
    expect(after.manifestDigest).toBe(before.manifestDigest);
    verifyLayout(root);
    // Loading the same archive again changes nothing, and stdin works too.
    const snap = snapshotStore(root);
    expect(tbOk(root, ["load"], { input: readFileSync(archive) })).toBe("Loaded image: busybox:test\n");
    expect(snapshotStore(root)).toBe(snap);
  });

  it("an OCI archive, gzipped layers, round-trips and skopeo reads it", () => {
    const root = tempDir("oci");
    const id = importBusybox(root);
    const archive = join(tempDir("oci-out"), "bb-oci.tar");
    tbOk(root, ["save", "--format", "oci", "--compress", "-o", archive, "busybox:test"]);
    const ins = JSON.parse(sh("skopeo", ["inspect", "--raw", `oci-archive:${archive}:${BB}`]).stdout) as { layers: { mediaType: string }[] };
    expect(ins.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    const root2 = tempDir("oci2");
    expect(tbOk(root2, ["load", "-i", archive])).toBe("Loaded image: busybox:test\n");
    expect(findImage(root2, BB)!.configDigest).toBe(id);
    expect(findImage(root2, BB)!.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
  });

  it("podman load accepts a docker-archive from tbuild save", () => {
    const root = tempDir("pod");
    const id = importBusybox(root);
    const archive = join(tempDir("pod-out"), "bb.tar");
    tbOk(root, ["save", "-o", archive, "busybox:test"]);
    const proot = tempDir("podman-root");
    const prun = tempDir("podman-run");
    const r = sh("podman", ["--root", proot, "--runroot", prun, "--storage-driver", "vfs", "load", "-i", archive]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Loaded image: ${BB}`);
    const ids = sh("podman", ["--root", proot, "--runroot", prun, "--storage-driver", "vfs", "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]).stdout;
    expect(ids).toContain(`${id} ${BB}`);
  });

  it("loads images skopeo wrote: docker-archive and oci-archive", () => {
    const root = tempDir("sko");
    const id = importBusybox(root);
    const dir = tempDir("sko-out");
    const da = join(dir, "da.tar");
    const oa = join(dir, "oa.tar");
    expect(sh("skopeo", ["copy", `oci:${root}:${BB}`, `docker-archive:${da}:skopeo/da:v1`]).code).toBe(0);
    expect(sh("skopeo", ["copy", "--dest-compress", `oci:${root}:${BB}`, `oci-archive:${oa}:docker.io/skopeo/oa:v2`]).code).toBe(0);
    const root2 = tempDir("sko2");
    expect(tbOk(root2, ["load", "-i", da])).toBe("Loaded image: skopeo/da:v1\n");
    expect(tbOk(root2, ["load", "-i", oa])).toBe("Loaded image: skopeo/oa:v2\n");
    expect(findImage(root2, "docker.io/skopeo/da:v1")!.configDigest).toBe(id);
    expect(findImage(root2, "docker.io/skopeo/oa:v2")!.configDigest).toBe(id);
    verifyLayout(root2);
  });

  it("skopeo inspect and umoci unpack read the store directly", () => {
    const root = tempDir("tools");
    const id = importBusybox(root);
    const ins = JSON.parse(sh("skopeo", ["inspect", `oci:${root}:${BB}`]).stdout) as { Layers: string[]; Os: string };
    expect(ins.Os).toBe("linux");
    expect(ins.Layers).toEqual(findImage(root, BB)!.config.rootfs.diff_ids);
    const cfg = JSON.parse(sh("skopeo", ["inspect", "--config", `oci:${root}:${BB}`]).stdout) as { rootfs: unknown };
    expect(cfg.rootfs).toBeDefined();
    void id;
    // umoci takes IMAGE:TAG, splitting at the first ':'; the full ref.name is a valid tag to it.
    const bundle = join(tempDir("umoci"), "bundle");
    const u = sh("umoci", ["unpack", "--image", `${root}:${BB}`, bundle]);
    expect(u.code, u.stderr).toBe(0);
    expect(existsSync(join(bundle, "rootfs", "bin", "busybox"))).toBe(true);
    expect(readFileSync(join(bundle, "rootfs", "etc", "passwd"), "utf8")).toMatch(/^root:x:0:0/);
    // The store is still ours after the tools had a look.
    expect(tbOk(root, ["images", "-q"]).trim()).toHaveLength(12);
  });
});

describe("disk usage and prune", () => {
  it("df counts a shared base once; prune removes dangling images and unused blobs", () => {
    const root = tempDir("df");
    const a = importBusybox(root, "a:1", ["--change", "CMD a"]);
    importBusybox(root, "b:1", ["--change", "CMD b"]);
    importBusybox(root, "c:1", ["--change", "CMD c"]);
    const layer = readFileSync(rootfs).length;
    const du = JSON.parse(tbOk(root, ["df", "--format", "json"])) as { Images: { Size: number; SharedSize: number; UniqueSize: number }[]; LayersSize: number };
    expect(du.Images).toHaveLength(3);
    expect(du.LayersSize).toBe(layer);
    for (const i of du.Images) expect(i).toMatchObject({ Size: layer, SharedSize: layer, UniqueSize: 0 });
    expect(tbOk(root, ["df"])).toMatch(/SHARED SIZE/);
    // Moving tag a:1 onto another image leaves the old one dangling.
    tbOk(root, ["tag", "b:1", "a:1"]);
    expect(tbOk(root, ["images"])).toMatch(/<none>\s+<none>\s+/);
    const pr = tbOk(root, ["prune"]);
    expect(pr).toContain(`deleted: `);
    expect(pr).toMatch(/Total reclaimed space: \d/);
    expect(tbOk(root, ["images", "-q", "--no-trunc"])).not.toContain(a);
    expect(readLayout(root).every((i) => i.ref !== undefined)).toBe(true);
    verifyLayout(root);
  });
});

describe("load -i FILE (indexed, layers copied by range) and load from stdin (streamed) agree", () => {
  /** Load `archive` into a fresh store through `-i` and through stdin; both snapshots. */
  function loadBothWays(archive: string, name: string): [string, string] {
    const viaFile = tempDir(`${name}-file`);
    const viaStdin = tempDir(`${name}-stdin`);
    const outFile = tbOk(viaFile, ["load", "-i", archive]);
    const outStdin = tbOk(viaStdin, ["load"], { input: readFileSync(archive) });
    expect(outFile).toBe(outStdin);
    verifyLayout(viaFile);
    verifyLayout(viaStdin);
    return [snapshotStore(viaFile), snapshotStore(viaStdin)];
  }

  it("docker-archive (tbuild save) and OCI archives (skopeo, plain and gzipped layers) give identical stores", () => {
    const root = tempDir("both");
    importBusybox(root);
    // A layer above the 1 MiB in-memory limit, so it is copied in several 1 MiB reads.
    expect(findImage(root, BB)!.layers[0]!.size).toBeGreaterThan(2 << 20);
    const dir = tempDir("both-out");
    const da = join(dir, "da.tar");
    const oa = join(dir, "oa.tar");
    const oaz = join(dir, "oaz.tar");
    tbOk(root, ["save", "-o", da, "busybox:test"]);
    expect(sh("skopeo", ["copy", `oci:${root}:${BB}`, `oci-archive:${oa}:docker.io/skopeo/oa:v1`]).code).toBe(0);
    expect(sh("skopeo", ["copy", "--dest-compress", `oci:${root}:${BB}`, `oci-archive:${oaz}:docker.io/skopeo/oaz:v1`]).code).toBe(0);
    for (const [archive, name] of [[da, "da"], [oa, "oa"], [oaz, "oaz"]] as const) {
      const [viaFile, viaStdin] = loadBothWays(archive, name);
      expect(viaFile, name).toBe(viaStdin);
      expect(viaFile, name).toContain(findImage(root, BB)!.layers[0]!.digest.slice(7));
    }
  });

  it("a gzipped archive given with -i is streamed and loads the same image", () => {
    const root = tempDir("gz");
    const id = importBusybox(root);
    const dir = tempDir("gz-out");
    const plain = join(dir, "plain.tar");
    tbOk(root, ["save", "-o", plain, "busybox:test"]);
    const gz = join(dir, "img.tar.gz");
    expect(sh("sh", ["-c", `gzip -c "$0" > "$1"`, plain, gz]).code).toBe(0);
    const [viaFile, viaStdin] = loadBothWays(gz, "gz");
    expect(viaFile).toBe(viaStdin);
    expect(viaFile).toBe(loadBothWays(plain, "gz-plain")[0]);
    expect(viaFile).toContain(id.slice(7, 19));
  });
});

describe("large layers (copied, hashed and written on worker threads)", () => {
  /** A store with two images whose single layers are 10 and 14 MiB of random bytes, saved in one archive. */
  function largeArchive(): { root: string; archive: string; layers: string[] } {
    const root = tempDir("large");
    const dir = tempDir("large-out");
    for (const [i, mib] of [10, 14].entries()) {
      const rootfs = join(dir, `rootfs${i}.tar`);
      writeFileSync(rootfs, buildTar([{ name: "data.bin", content: randomBytes(mib << 20) }]));
      tbOk(root, ["import", rootfs, `large:${i}`]);
    }
    const archive = join(dir, "large.tar");
    tbOk(root, ["save", "-o", archive, "large:0", "large:1"]);
    return { root, archive, layers: ["large:0", "large:1"].map((r) => findImage(root, `docker.io/library/${r}`)!.layers[0]!.digest.slice(7)) };
  }

  // Both tests also show the CLI exits: a worker that kept it alive would hang it past the test's timeout.
  it("load -i and load from stdin give identical stores", () => {
    const { archive, layers } = largeArchive();
    const viaFile = tempDir("large-file");
    const viaStdin = tempDir("large-stdin");
    const out = tbOk(viaFile, ["load", "-i", archive]);
    expect(out).toBe(tbOk(viaStdin, ["load"], { input: readFileSync(archive) }));
    verifyLayout(viaFile);
    expect(snapshotStore(viaFile)).toBe(snapshotStore(viaStdin));
    for (const l of layers) expect(listBlobs(viaFile)).toContain(l);
  });

  it("stdin redirected from a file is read at offsets, as -i is; a pipe is read into one buffer; a file already read from is streamed", () => {
    const { archive } = largeArchive();
    const viaFile = tempDir("large-file");
    tbOk(viaFile, ["load", "-i", archive]);
    const loadFromFd = (fd: number) => {
      const root = tempDir("large-fd");
      const r = tb(root, ["load", "--debug"], { stdinFd: fd });
      expect(r.code, r.stderr).toBe(0);
      expect(snapshotStore(root)).toBe(snapshotStore(viaFile));
      return r.stderr;
    };
    const fd = openSync(archive, "r");
    try {
      expect(loadFromFd(fd)).toContain("load: the archive was a file read at offsets");
    } finally {
      closeSync(fd);
    }
    // The archive starts at the file's position (a prefix was read by someone else): a read at offsets from 0 would hit the prefix.
    const prefixed = join(tempDir("large-prefixed"), "prefixed.tar");
    writeFileSync(prefixed, Buffer.concat([Buffer.alloc(1024, "junk"), readFileSync(archive)]));
    const fd2 = openSync(prefixed, "r");
    try {
      readSync(fd2, Buffer.alloc(1024), 0, 1024, null);
      expect(loadFromFd(fd2)).toContain("load: the archive was a stream");
    } finally {
      closeSync(fd2);
    }
    const piped = tb(tempDir("large-pipe"), ["load", "--debug"], { input: readFileSync(archive) });
    expect(piped.stderr).toContain("load: the archive was a pipe read into one buffer");
  });

  it("a corrupted layer range is named, nothing is stored, and no worker outlives the process", async () => {
    const { archive, layers } = largeArchive();
    const bad = join(tempDir("large-bad"), "bad.tar");
    await rewriteTar(archive, bad, (name, body) => {
      if (name.endsWith(layers[1]!)) body[5 << 20] = body[5 << 20]! ^ 0xff;
      return body;
    });
    const root2 = tempDir("large-bad2");
    importBusybox(root2, "keep:me");
    const snap = snapshotStore(root2);
    const r = tb(root2, ["load", "-i", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`E_ARCHIVE_INVALID: blob blobs/sha256/${layers[1]} in the archive: digest mismatch: expected sha256:${layers[1]}, got sha256:`));
    expect(snapshotStore(root2)).toBe(snap);
    expect(readdirSync(join(root2, "tbuild", "tmp"))).toEqual([]);
  });
});

describe("bad archives are rejected and leave the store unchanged", () => {
  it("a tampered layer is named and nothing is stored", async () => {
    const root = tempDir("tamper");
    importBusybox(root);
    const dir = tempDir("tamper-out");
    const good = join(dir, "good.tar");
    tbOk(root, ["save", "-o", good, "busybox:test"]);
    const layerDigest = findImage(root, BB)!.layers[0]!.digest.slice(7);
    const bad = join(dir, "bad.tar");
    await rewriteTar(good, bad, (name, body) => {
      if (name.endsWith(layerDigest)) body[body.length - 2000] = body[body.length - 2000]! ^ 0xff;
      return body;
    });
    const root2 = tempDir("tamper2");
    importBusybox(root2, "keep:me");
    const snap = snapshotStore(root2);
    for (const r of [tb(root2, ["load", "-i", bad]), tb(root2, ["load"], { input: readFileSync(bad) })]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("E_ARCHIVE_INVALID");
      expect(r.stderr).toMatch(new RegExp(`blob blobs/sha256/${layerDigest} in the archive: digest mismatch: expected sha256:${layerDigest}, got sha256:`));
      expect(snapshotStore(root2)).toBe(snap);
    }
    expect(readdirSync(join(root2, "tbuild", "tmp"))).toEqual([]);
  });

  it("a tampered config and a missing layer are named", async () => {
    const root = tempDir("tamper-c");
    importBusybox(root);
    const dir = tempDir("tamper-c-out");
    const good = join(dir, "good.tar");
    tbOk(root, ["save", "-o", good, "busybox:test"]);
    const img = findImage(root, BB)!;
    const cfgBad = join(dir, "cfg.tar");
    await rewriteTar(good, cfgBad, (name, body) => (name.endsWith(img.configDigest.slice(7)) ? Buffer.from(body.toString().replace('"os":"linux"', '"os":"LINUX"')) : body));
    const noLayer = join(dir, "nolayer.tar");
    await rewriteTar(good, noLayer, (name, body) => (name.endsWith(img.layers[0]!.digest.slice(7)) ? undefined : body));
    const root2 = tempDir("tamper-c2");
    tbOk(root2, ["images"]); // creates the empty layout
    const snap = snapshotStore(root2);
    const r1 = tb(root2, ["load", "-i", cfgBad]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(new RegExp(`E_ARCHIVE_INVALID: .*blobs/sha256/${img.configDigest.slice(7)}.*digest mismatch`));
    const r2 = tb(root2, ["load", "-i", noLayer]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`lacks blobs/sha256/${img.layers[0]!.digest.slice(7)}`);
    expect(snapshotStore(root2)).toBe(snap);
  });

  it("a truncated archive is rejected", () => {
    const root = tempDir("trunc");
    importBusybox(root);
    const dir = tempDir("trunc-out");
    const good = join(dir, "good.tar");
    tbOk(root, ["save", "-o", good, "busybox:test"]);
    const bytes = readFileSync(good);
    const root2 = tempDir("trunc2");
    importBusybox(root2, "keep:me");
    const snap = snapshotStore(root2);
    const cutFile = join(dir, "cut.tar");
    for (const cut of [100, 600, Math.floor(bytes.length / 2), bytes.length - 1500]) {
      writeFileSync(cutFile, bytes.subarray(0, cut));
      const fromFile = tb(root2, ["load", "-i", cutFile]);
      for (const r of [tb(root2, ["load"], { input: bytes.subarray(0, cut) }), fromFile]) {
        expect(r.code, `cut at ${cut}`).toBe(1);
        expect(r.stderr).toContain("E_ARCHIVE_INVALID");
        expect(snapshotStore(root2)).toBe(snap);
      }
      // The file is indexed before any byte is copied: the entry it ends in is named.
      if (cut > 600) expect(fromFile.stderr).toMatch(/cannot read the archive at [^:]+: it is truncated/);
    }
    expect(readdirSync(join(root2, "tbuild", "tmp"))).toEqual([]);
    writeFileSync(cutFile, "hello world\n".repeat(100));
    for (const notTar of [tb(root2, ["load"], { input: Buffer.from("hello world\n".repeat(100)) }), tb(root2, ["load", "-i", cutFile])]) {
      expect(notTar.code).toBe(1);
      expect(notTar.stderr).toContain("E_ARCHIVE_INVALID: cannot read the archive: Invalid tar header");
    }
  });
});
