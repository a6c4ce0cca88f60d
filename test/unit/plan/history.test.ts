// A stage's history is its base's (image or stage) followed by its own entries. Stages FROM
// another stage share the base's entries instead of copying them (a chain of k stages copied
// 1 + 2 + … + k), so these check the lists a reader sees, at every link of a chain.
import { describe, expect, it } from "vitest";
import { planBuild } from "../../../src/plan/index.js";
import { FakeHasher, FakeResolver, HOST } from "./fakes.js";

const resolver = new FakeResolver({ "docker.io/library/base:1": { history: [{ created_by: "base layer" }, { created_by: "base config", empty_layer: true }] } });

async function histories(text: string): Promise<string[][]> {
  const plan = await planBuild({ dockerfile: text, platform: HOST, resolver, hasher: new FakeHasher({ a: "a" }) });
  return [...plan.stages].sort((x, y) => x.index - y.index).map((s) => s.history.map((h) => h.created_by ?? ""));
}

describe("stage history", () => {
  it("is the base image's entries, then the stage's, for every stage of a chain", async () => {
    const h = await histories("FROM base:1 AS a\nRUN one\nFROM a AS b\nENV K=v\nFROM b AS c\nRUN two\nFROM c\nCOPY a /a\n");
    const a = ["base layer", "base config", "RUN /bin/sh -c one # buildkit"];
    const b = [...a, "ENV K=v"];
    const c = [...b, "RUN /bin/sh -c two # buildkit"];
    expect(h).toEqual([a, b, c, [...c, "COPY a /a # buildkit"]]);
  });

  it("read from the target first or from its bases first, is the same", async () => {
    const text = "FROM scratch AS s0\nRUN x0\n" + Array.from({ length: 50 }, (_, i) => `FROM s${i} AS s${i + 1}\nRUN x${i + 1}\n`).join("");
    const plan = await planBuild({ dockerfile: text, platform: HOST, resolver, hasher: new FakeHasher() });
    const byIndex = [...plan.stages].sort((x, y) => x.index - y.index);
    const target = byIndex.at(-1)!.history.map((h) => h.created_by);
    expect(target).toEqual(Array.from({ length: 51 }, (_, i) => `RUN /bin/sh -c x${i} # buildkit`));
    for (const s of byIndex) expect(s.history.map((h) => h.created_by)).toEqual(target.slice(0, s.index + 1));
    expect(JSON.parse(JSON.stringify(byIndex[10])).history).toHaveLength(11);
  });
});
