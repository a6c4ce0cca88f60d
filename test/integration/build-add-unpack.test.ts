// ADD --unpack: a local archive is unpacked by default (as ADD always did), kept as the
// archive file with --unpack=false, and the decoder tells an absent flag from a false one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeDockerfile, parseDockerfile } from "../../src/dockerfile/index.js";
import { runCli } from "../helpers/cli.js";
import { findImage, readBlob, tarNames } from "../helpers/oci-reader.js";
import { buildTar } from "../helpers/tar-builder.js";

const tmp = mkdtempSync(join(tmpdir(), "tbuild-add-unpack-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("ADD --unpack", () => {
  it("decodes absent as undefined, --unpack and --unpack=false as given", () => {
    const r = decodeDockerfile(parseDockerfile("FROM scratch\nADD a.tar /x/\nADD --unpack=false a.tar /y/\nADD --unpack a.tar /z/\nADD --unpack=true a.tar /w/\n"));
    expect(r.errors).toEqual([]);
    const adds = r.commands.filter((c) => c.kind === "add") as { unpack?: boolean }[];
    expect(adds.map((c) => c.unpack)).toEqual([undefined, false, true, true]);
  });

  it("unpacks a local tar by default and keeps it whole with --unpack=false", async () => {
    const ctx = join(tmp, "ctx");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "a.tar"), buildTar([{ name: "inside.txt", content: "hi" }]));
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nADD a.tar /x/\nADD --unpack=false a.tar /y/\n");
    const root = join(tmp, "store");
    const r = await runCli(["build", "--root", root, "-q", "-t", "unpack", ctx]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const img = findImage(root, "docker.io/library/unpack:latest")!;
    const layers = img.layers.map((l) => readBlob(root, l.digest));
    expect(await tarNames(layers[0]!)).toEqual(["x/", "x/inside.txt"]);
    expect(await tarNames(layers[1]!)).toEqual(["y/", "y/a.tar"]);
  });
});
