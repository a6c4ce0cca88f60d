// Plan every Dockerfile of the shared corpus with no base image configs (unknown bases are
// empty) and a hasher that accepts any source: planning must end with a plan or a
// TbuildError, never another exception.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashPreimage, isTbuildError } from "../../../src/util/index.js";
import { planBuild, type SourceHasher } from "../../../src/plan/index.js";
import { FakeResolver, HOST } from "./fakes.js";

const DIR = "/work/shared/corpus/dockerfiles";

/** Any source exists; its digest is a function of the request. */
export const anyHasher: SourceHasher = {
  async hash(req) {
    return { digest: hashPreimage("corpus.selection", req), files: Object.fromEntries(req.sources.map((s) => [s, hashPreimage("corpus.file", s)])) };
  },
};

describe("corpus", () => {
  it("plans every Dockerfile or fails with a TbuildError", async () => {
    const files = readdirSync(DIR).sort();
    expect(files.length).toBeGreaterThan(500);
    const codes = new Map<string, number>();
    let planned = 0;
    let steps = 0;
    const started = performance.now();
    for (const f of files) {
      const text = readFileSync(join(DIR, f), "utf8");
      try {
        const plan = await planBuild({ dockerfile: text, file: f, platform: HOST, resolver: new FakeResolver(), hasher: anyHasher });
        planned++;
        steps += plan.stages.reduce((n, s) => n + s.steps.length, 0);
      } catch (e) {
        if (!isTbuildError(e)) throw new Error(`${f}: ${(e as Error).stack ?? String(e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    const ms = performance.now() - started;
    console.log(`corpus: ${files.length} files, ${planned} planned (${steps} steps), errors ${JSON.stringify(Object.fromEntries(codes))}, ${ms.toFixed(0)} ms`);
    expect(planned).toBeGreaterThan(files.length * 0.9);
  });
});
