import { describe, expect, it } from "vitest";
import { SourceText, TbuildError, canonicalJson, cleanPath, didYouMean, hashPreimage, renderCodeFrame, sha256Digest, withLocation } from "../../../src/util/index.js";

describe("canonicalJson", () => {
  it("sorts keys and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: [1, "x", null], c: undefined, d: { z: true, y: false } })).toBe('{"a":[1,"x",null],"b":1,"d":{"y":false,"z":true}}');
  });
  it("rejects non-finite numbers and cycles", () => {
    expect(() => canonicalJson(NaN)).toThrow(/non-finite/);
    const o: Record<string, unknown> = {};
    o.self = o;
    expect(() => canonicalJson(o)).toThrow(/cycle/);
  });
});

describe("digests", () => {
  it("matches the known SHA-256 of abc", () => {
    expect(sha256Digest("abc")).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("separates preimages by tag and is key-order independent", () => {
    expect(hashPreimage("run", { a: 1, b: 2 })).toBe(hashPreimage("run", { b: 2, a: 1 }));
    expect(hashPreimage("run", { a: 1 })).not.toBe(hashPreimage("copy", { a: 1 }));
  });
});

describe("SourceText", () => {
  it("maps offsets to 1-based lines and columns", () => {
    const s = new SourceText("FROM a\r\nRUN b\n");
    expect(s.positionAt(0)).toEqual({ line: 1, column: 1, offset: 0 });
    expect(s.positionAt(8)).toEqual({ line: 2, column: 1, offset: 8 });
    expect(s.lineText(1)).toBe("FROM a");
    expect(s.lineText(2)).toBe("RUN b");
  });
});

describe("suggestions and errors", () => {
  it("suggests within distance 2 in the user's case", () => {
    expect(didYouMean("COPPY", ["COPY", "RUN"])).toBe("did you mean COPY?");
    expect(didYouMean("chmood", ["chmod", "chown"])).toBe("did you mean chmod?");
    expect(didYouMean("zzzzzz", ["COPY"])).toBeUndefined();
  });
  it("collects a TbuildError without a stack trace, equal in all else to a thrown one", () => {
    const location = { file: "Dockerfile", range: new SourceText("NOPE x").rangeOf(0, 4) };
    const e = TbuildError.collected("E_PARSE_UNKNOWN_INSTRUCTION", "unknown instruction: NOPE", { location, hint: "did you mean COPY?" });
    const thrown = new TbuildError("E_PARSE_UNKNOWN_INSTRUCTION", "unknown instruction: NOPE", { location, hint: "did you mean COPY?" });
    expect(e).toBeInstanceOf(TbuildError);
    expect([e.name, e.code, e.message, e.location, e.hint]).toEqual([thrown.name, thrown.code, thrown.message, thrown.location, thrown.hint]);
    expect(thrown.stack).toMatch(/\n\s+at /);
    expect(e.stack ?? "").not.toMatch(/\n\s+at /);
    // The limit is restored for every later error.
    expect(new Error("x").stack).toMatch(/\n\s+at /);
  });
  it("keeps the innermost location", () => {
    const inner = { file: "Dockerfile", range: new SourceText("a\nb").rangeOf(2, 3) };
    const outer = { file: "Dockerfile", range: new SourceText("a\nb").rangeOf(0, 1) };
    const e = withLocation(withLocation(new TbuildError("E_RUN_EXIT", "x"), inner), outer);
    expect(e.location?.range.start.line).toBe(2);
  });
  it("renders a BuildKit-style code frame", () => {
    const text = "FROM alpine\nRUN true\nRUN exit 1\nCMD x\n";
    const src = new SourceText(text);
    expect(renderCodeFrame("Dockerfile", text, src.rangeOf(21, 31))).toBe(
      ["Dockerfile:3", "-".repeat(20), "   1 |     FROM alpine", "   2 |     RUN true", "   3 | >>> RUN exit 1", "   4 |     CMD x", "-".repeat(20)].join("\n"),
    );
  });
});

describe("cleanPath (Go's path.Clean)", () => {
  it("collapses //, . and .., keeps a leading / and drops a trailing one", () => {
    const cases: [string, string][] = [["", "."], [".", "."], ["/", "/"], ["a/b/", "a/b"], ["//a//./b/", "/a/b"], ["/../a/..", "/"], ["../a/../..", "../.."], ["a/../..", ".."], ["a/./b/../c", "a/c"]];
    for (const [input, want] of cases) expect(cleanPath(input), input).toBe(want);
  });

  it("agrees with a plain segment walk on every path of up to 5 segments from / . .. a .a ...", () => {
    // The reference: Go's algorithm over all segments (cleanPath keeps a clean head as is).
    const reference = (p: string): string => {
      const rooted = p.startsWith("/");
      const out: string[] = [];
      for (const part of p.split("/")) {
        if (part === "" || part === ".") continue;
        if (part !== "..") out.push(part);
        else if (out.length > 0 && out.at(-1) !== "..") out.pop();
        else if (!rooted) out.push("..");
      }
      return rooted ? `/${out.join("/")}` : out.join("/") || ".";
    };
    const parts = ["", ".", "..", "a", ".a", "...", "b.."];
    let paths = [""];
    for (let n = 0; n < 5; n++) paths = [...paths, ...paths.flatMap((p) => parts.map((x) => (p === "" ? x : `${p}/${x}`)))];
    for (const p of new Set([...paths, ...paths.map((p) => `/${p}`)])) expect(cleanPath(p), JSON.stringify(p)).toBe(reference(p));
  });
});
