// describesSameBlobs (src/image/manifest.ts): whether a manifest to keep names exactly the
// blobs of the one the store would build, whatever its dialect (OCI, with or without its
// optional mediaType field, or Docker schema 2).
import { describe, expect, it } from "vitest";
import { MediaType, buildManifest, describesSameBlobs, type ImageManifest } from "../../../src/image/index.js";
import type { Digest } from "../../../src/util/index.js";

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const built = buildManifest({ mediaType: MediaType.OCI_CONFIG, digest: d("c"), size: 10 }, [{ mediaType: MediaType.OCI_LAYER_GZIP, digest: d("1"), size: 100 }]).value;

describe("describesSameBlobs", () => {
  it("accepts the same blobs under the OCI type, without the optional mediaType field, and under Docker's names", () => {
    const { mediaType: _omitted, ...withoutType } = built;
    const docker: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST,
      config: { mediaType: MediaType.DOCKER_CONFIG, digest: d("c"), size: 10 },
      layers: [{ mediaType: MediaType.DOCKER_LAYER_GZIP, digest: d("1"), size: 100 }],
    };
    expect(describesSameBlobs(built, built)).toBe(true);
    expect(describesSameBlobs(withoutType as ImageManifest, built)).toBe(true);
    expect(describesSameBlobs(docker, built)).toBe(true);
  });

  it("refuses other blobs, sizes or layer counts, and an index", () => {
    expect(describesSameBlobs({ ...built, layers: [{ ...built.layers[0]!, size: 101 }] }, built)).toBe(false);
    expect(describesSameBlobs({ ...built, layers: [] }, built)).toBe(false);
    expect(describesSameBlobs({ ...built, config: { ...built.config, digest: d("e") } }, built)).toBe(false);
    expect(describesSameBlobs({ ...built, mediaType: MediaType.OCI_INDEX }, built)).toBe(false);
  });
});
