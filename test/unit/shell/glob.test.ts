// Glob patterns as ${VAR#pat} / ${VAR/pat/repl} use them: tokens, shortest and longest
// prefix/suffix, leftmost-longest search, and Go's empty-match rules for replacement.
import { describe, expect, it } from "vitest";
import { parseGlob, replaceGlob, searchGlob, trimPrefix, trimSuffix } from "../../../src/shell/index.js";

const g = (p: string) => parseGlob(p);

describe("glob patterns", () => {
  it("tokenises stars (collapsed), ?, escapes, brackets, and takes an unclosed [ literally", () => {
    expect(parseGlob("a**?\\*").map((t) => t.kind)).toEqual(["char", "star", "any", "char"]);
    expect(parseGlob("[a-c]").map((t) => t.kind)).toEqual(["class"]);
    expect(parseGlob("[]").map((t) => t.kind)).toEqual(["char", "char"]);
    expect(parseGlob("[]x]").map((t) => t.kind)).toEqual(["class"]);
    expect(parseGlob("a\\").at(-1)).toEqual({ kind: "char", ch: "\\" });
    expect(parseGlob("`*", { escape: "`" })).toEqual([{ kind: "char", ch: "*" }]);
  });

  it("trims shortest and longest prefixes and suffixes", () => {
    expect(trimPrefix("aXbXc", g("*X"), false)).toBe("bXc");
    expect(trimPrefix("aXbXc", g("*X"), true)).toBe("c");
    expect(trimSuffix("aXbXc", g("X*"), false)).toBe("aXb");
    expect(trimSuffix("aXbXc", g("X*"), true)).toBe("a");
    expect(trimPrefix("abc", g("z*"), true)).toBe("abc");
  });

  it("finds the leftmost match, longest at that start", () => {
    const chars = Array.from("xxabab-ab");
    expect(searchGlob(g("a*b"), chars, 0)).toEqual({ start: 2, end: 9 });
    expect(searchGlob(g("ab"), chars, 3)).toEqual({ start: 4, end: 6 });
    expect(searchGlob(g("q"), chars, 0)).toBeNull();
  });

  it("follows Go's rules for empty matches when replacing", () => {
    expect(replaceGlob("ab", g(""), "X", false)).toBe("Xab");
    expect(replaceGlob("ab", g(""), "X", true)).toBe("XaXbX");
    expect(replaceGlob("ab", g("*"), "X", true)).toBe("X");
    expect(replaceGlob("", g("*"), "X", true)).toBe("X");
  });

  it("inserts the replacement literally (no $1 or & expansion)", () => {
    expect(replaceGlob("ab", g("a"), "$1&$$", true)).toBe("$1&$$b");
  });

  it("matches bracket classes, negation, ranges and named classes", () => {
    expect(replaceGlob("a1-B2", g("[[:digit:]]"), "#", true)).toBe("a#-B#");
    expect(replaceGlob("a1-B2", g("[!a-z]"), "", true)).toBe("a");
    expect(replaceGlob("a1-B2", g("[[:upper:]-]"), "", true)).toBe("a12");
    expect(replaceGlob("a]b", g("[]]"), "", true)).toBe("ab");
  });
});
