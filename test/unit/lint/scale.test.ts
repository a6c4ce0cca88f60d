// Lint cost against the number of stages: stage lookups, definition descriptions, the
// JSONArgsRecommended ancestor walk and UndefinedVar's per-stage env copies once grew with
// the square (or cube) of the stage count (the fuzzer: a 685 KB input took 103 s). The
// bounds are generous on purpose: they catch the blow-up, not a slow machine. Each file
// stays within MAX_INSTRUCTIONS (10,000), the most a Dockerfile may have.
import { describe, expect, it } from "vitest";
import { lintDockerfile } from "../../../src/lint/index.js";

/** Lint with every rule on, experimental ones included (InvalidDefinitionDescription). */
function timed(text: string): { rules: string[]; ms: number } {
  const t0 = performance.now();
  const d = lintDockerfile(`# check=experimental=all\n${text}`);
  return { rules: d.map((x) => x.code), ms: performance.now() - t0 };
}

const stages = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join("");

describe("thousands of stages lint in linear time (fuzz: O(stages^2) lint)", () => {
  it("a chain of 2,000 stages: each FROM and COPY --from the one before, with ENV, ARG and CMD", () => {
    const text = stages(2000, (i) => `# s${i} stage ${i}\nFROM ${i ? `s${i - 1}` : "alpine:3.20"} AS s${i}\nENV E${i}=${i ? `$E${i - 1}` : "0"}\nARG A${i}\n${i ? `COPY --from=s${i - 1} /a /a\n` : ""}CMD echo $A${i}\n`);
    const { rules, ms } = timed(text);
    expect(ms).toBeLessThan(5000);
    // Every stage's shell-form CMD, with no SHELL anywhere up its chain, and nothing else.
    expect(rules).toEqual(Array(2000).fill("JSONArgsRecommended"));
  });

  it("3,333 independent named stages from an image, each with a described FROM and ARG", () => {
    const text = stages(3333, (i) => `# s${i} a stage\nFROM alpine:3.20 AS s${i}\n# A${i} an arg\nARG A${i}\nWORKDIR /$A${i}/$MISSING\n`);
    const { rules, ms } = timed(text);
    expect(ms).toBeLessThan(5000);
    expect(rules).toEqual(Array(3333).fill("UndefinedVar"));
  });

  it("5,000 unnamed stages: a lookup of an unknown name scans nothing", () => {
    const { ms } = timed(stages(5000, (i) => `FROM base${i}:1\nCOPY --from=nowhere${i}:1 /a /a\n`));
    expect(ms).toBeLessThan(5000);
  });
});
