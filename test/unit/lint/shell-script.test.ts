// splitCommands copies runs of word characters whole (a word built a character at a time
// was a rope of one node per character): the words must be exactly those of the rules below.
import { describe, expect, it } from "vitest";
import { splitCommands } from "../../../src/lint/index.js";

const words = (script: string) => splitCommands(script).map((c) => [c.words, c.sep, c.piped]);

describe("splitCommands", () => {
  it("splits words at blanks and operators, keeps quoted text, escapes and expansions in the word", () => {
    expect(words(`apt-get install -y "a b\\"c" x#y foo$(bar baz) >/dev/null 2>&1 && echo a\\ b | cat; (cd x) || y é;z`)).toEqual([
      [["apt-get", "install", "-y", 'a b"c', "x#y", "foo$(bar baz)"], "&&", false],
      [["echo", "a b"], "|", false],
      [["cat"], ";", true],
      [["cd", "x)"], "||", false],
      [["y", "é"], ";", false],
      [["z"], "", false],
    ]);
  });

  it("ends a word at every operator character, also right after word characters", () => {
    expect(words("a&&b||c;d|e&f>g<h")).toEqual([
      [["a"], "&&", false],
      [["b"], "||", false],
      [["c"], ";", false],
      [["d"], "|", false],
      [["e"], "&", true],
      [["f"], "", false],
    ]);
    expect(words("echo ab'c d'e\"f g\"h`i j`k${l m}n")).toEqual([[["echo", "abc def gh`i j`k${l m}n"], "", false]]);
  });

  it("keeps a long quoted or unquoted word whole and equal to its text", () => {
    const long = "x".repeat(100_000);
    expect(words(`echo ${long} "${long} ${long}"`)).toEqual([[["echo", long, `${long} ${long}`], "", false]]);
  });
});
