// tbuild's own rules (best practice, image weight), table-driven from testdata/lint/<case>/:
// a Dockerfile and diagnostics.txt, one finding per line: `LINE:COL RULE message`.
// Every rule beyond BuildKit's has a case that triggers it (<rule>) and one that must not
// (<rule>-ok). Regenerate goldens with UPDATE_GOLDEN=1 and review the diff.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RULES, lintDockerfile } from "../../../src/lint/index.js";

const ROOT = new URL("../../../testdata/lint/", import.meta.url);
const cases = readdirSync(ROOT).filter((n) => existsSync(new URL(`${n}/Dockerfile`, ROOT))).sort();
const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

function render(text: string): string {
  return lintDockerfile(text)
    .map((d) => `${d.location.range.start.line}:${d.location.range.start.column} ${d.code} ${d.message}\n`)
    .join("");
}

describe("lint rules (testdata/lint)", () => {
  for (const name of cases) {
    it(name, () => {
      const text = readFileSync(new URL(`${name}/Dockerfile`, ROOT), "utf8");
      const golden = new URL(`${name}/diagnostics.txt`, ROOT);
      const got = render(text);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, got);
      expect(got).toBe(readFileSync(golden, "utf8"));
    });
  }

  for (const r of RULES.filter((x) => x.category !== "buildkit")) {
    it(`${r.name} has a triggering and a clean case`, () => {
      const hit = readFileSync(new URL(`${kebab(r.name)}/diagnostics.txt`, ROOT), "utf8");
      const ok = readFileSync(new URL(`${kebab(r.name)}-ok/diagnostics.txt`, ROOT), "utf8");
      expect(hit.split("\n").some((l) => l.split(" ")[1] === r.name)).toBe(true);
      expect(ok.split("\n").some((l) => l.split(" ")[1] === r.name)).toBe(false);
    });
  }
});

describe("RULES.md", () => {
  const doc = readFileSync(new URL("../../../src/lint/RULES.md", import.meta.url), "utf8");
  it("documents every rule with its URL, and has a section for each of tbuild's own", () => {
    for (const r of RULES) {
      expect(doc, r.name).toContain(`| [${r.name}](${r.url}) | ${r.severity} |`);
      if (r.category !== "buildkit") expect(doc, r.name).toContain(`\n### ${r.name}\n`);
    }
  });
});
