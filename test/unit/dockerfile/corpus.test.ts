// The shared real-world corpus parses (and decodes strictly, or is rejected with a located
// error); the weird files never make the parser throw anything but a TbuildError.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeDockerfile, parseDockerfile } from "../../../src/dockerfile/index.js";
import { TbuildError } from "../../../src/util/index.js";

const CORPUS = new URL("../../../../shared/corpus/", import.meta.url);
const files = (dir: string): string[] => readdirSync(new URL(dir, CORPUS)).sort();

describe("corpus/dockerfiles", () => {
  const names = files("dockerfiles/");
  let decoded = 0;
  const rejected: string[] = [];
  for (const name of names) {
    it(name, () => {
      const text = readFileSync(new URL(`dockerfiles/${name}`, CORPUS), "utf8");
      const r = parseDockerfile(text, { file: name });
      const d = decodeDockerfile(r);
      if (d.errors.length === 0) {
        decoded++;
        expect(d.commands.length).toBe(r.ast.instructions.length);
      } else {
        rejected.push(`${name}: ${d.errors[0]!.code} ${d.errors[0]!.message}`);
        for (const e of d.errors) {
          expect(e).toBeInstanceOf(TbuildError);
          expect(e.location?.file).toBe(name);
          expect(e.location!.range.start.line).toBeGreaterThan(0);
        }
      }
    });
  }
  it("summary", () => {
    console.log(`corpus: ${decoded} of ${names.length} decode strictly; ${rejected.length} rejected with a located error`);
    for (const r of rejected) console.log(`  ${r}`);
    expect(decoded + rejected.length).toBe(names.length);
  });
});

describe("corpus/weird", () => {
  for (const name of files("weird/")) {
    it(name, () => {
      const text = readFileSync(new URL(`weird/${name}`, CORPUS), "utf8");
      const t0 = performance.now();
      const r = parseDockerfile(text, { file: name });
      try {
        decodeDockerfile(r);
      } catch (e) {
        expect(e).toBeInstanceOf(TbuildError);
      }
      expect(performance.now() - t0).toBeLessThan(2000);
    });
  }
});
