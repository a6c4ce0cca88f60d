// The whole pure front end (parse, decode, lint, plan) in linear time on big Dockerfiles:
// bench/fuzz.bench.mjs found 1–3 MB mutated files of 60k–190k instructions taking 2–11 s
// (quadratic lint checks, per-character shell work, an error thrown twice per unknown line,
// a tree of ~1.3 KB per instruction). Each case runs at n and 8n instructions and asserts
// on the ratio of the times, not on a time (test/helpers/scale.ts). 8n stays within
// MAX_INSTRUCTIONS (10,000), the most one Dockerfile may have.
import { describe, expect, it } from "vitest";
import { decodeDockerfile, parseDockerfile } from "../../../src/dockerfile/index.js";
import { lintParsed } from "../../../src/lint/index.js";
import { planParsed, type SourceHasher } from "../../../src/plan/index.js";
import { TbuildError, sha256Digest } from "../../../src/util/index.js";
import { FakeResolver, HOST } from "../plan/fakes.js";
import { MAX_RATIO, SCALE_FACTOR, scaleRatio } from "../../helpers/scale.js";

const SMALL = 1_200;
const LARGE = SCALE_FACTOR * SMALL;

interface Outcome {
  instructions: number;
  lintFindings: number;
  planned: string;
}

/** A context that has every file the Dockerfile names (the fuzz bench's hasher). */
const anyContext: SourceHasher = {
  async hash(req) {
    const files: Record<string, ReturnType<typeof sha256Digest>> = {};
    for (const s of req.sources) files[s] = sha256Digest(`file:${s}`);
    return { digest: sha256Digest(`sel:${JSON.stringify(req.sources)}`), files };
  },
};

async function frontEnd(text: string): Promise<Outcome> {
  const parsed = parseDockerfile(text);
  decodeDockerfile(parsed);
  const findings = lintParsed(parsed);
  let planned = "ok";
  try {
    await planParsed(parsed, { platform: HOST, resolver: new FakeResolver({}), hasher: anyContext });
  } catch (e) {
    if (!(e instanceof TbuildError)) throw e;
    planned = e.code;
  }
  return { instructions: parsed.ast.instructions.length, lintFindings: findings.length, planned };
}

function ratio(make: (n: number) => string): Promise<{ ratio: number; small: Outcome; large: Outcome }> {
  return scaleRatio(SMALL, make, frontEnd);
}

const lines = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => `${f(i)}\n`).join("");

describe("parse + decode + lint + plan stay linear up to 9,600 instructions", () => {
  // Stages are not chained FROM one another (a chain: test/unit/plan/history.test.ts).
  it("stages of ordinary instructions, each copying from the one before (n/25 stages)", async () => {
    const make = (n: number) =>
      `ARG BASE=alpine:3.20\n${lines(n / 25, (s) =>
        `FROM ${s % 2 ? "$BASE" : "scratch"} AS s${s}\n${s ? `COPY --from=s${s - 1} /a /b\n` : ""}${lines(4, (i) => [
          `RUN apk add --no-cache curl | tee /log && echo ${i} > /f${i}`,
          `COPY --chown=1:1 src${i} /app/`,
          `WORKDIR /app/${i}`,
          `ENV K${i}=v${i} P=$K${i}`,
          `LABEL l${i}="x y"`,
          `ARG A${i}=\${K${i}:-d}`,
        ][(s + i) % 6]!)}${lines(20, (i) => (i % 2 ? `RUN make -C /app t${i}` : `EXPOSE ${1000 + i}/tcp`))}`).trimEnd()}\n`;
    const r = await ratio(make);
    expect(r.large.instructions).toBeGreaterThanOrEqual(LARGE);
    expect(r.large.planned).toBe("ok");
    expect(r.ratio).toBeLessThan(MAX_RATIO);
  }, 300_000);

  it("one stage of unknown instructions and piped RUNs (mangled repeats in the fuzz corpus)", async () => {
    const shapes = ["LTHCHEC?K", "RUoot/.zshrc", "RUN echo x | cat", "RUN pip install p"];
    const make = (n: number) => `FROM scratch\n${lines(n, (i) => `${shapes[i % 4]}${i % 7}`)}`;
    const r = await ratio(make);
    expect(r.large.instructions).toBe(LARGE + 1);
    // Every unknown line, and every piped RUN without pipefail, is a finding.
    expect(r.large.lintFindings).toBeGreaterThanOrEqual((3 * LARGE) / 4);
    expect(r.large.planned).toBe("E_PARSE_UNKNOWN_INSTRUCTION");
    expect(r.ratio).toBeLessThan(MAX_RATIO);
  }, 300_000);

  // The fuzz bench's #40748: 1,700 of these took 1.1 s, splitting every ever-longer value
  // into words that no caller of the value wanted.
  it("ENV PATH=/n/bin:$PATH repeated, each value longer than the one before", async () => {
    const make = (n: number) => `FROM scratch\n${lines(n - 1, (i) => `ENV PATH=/opt/p${i}/bin:$PATH`)}`;
    const r = await ratio(make);
    expect(r.large.instructions).toBe(LARGE);
    expect(r.large.planned).toBe("ok");
    expect(r.ratio).toBeLessThan(MAX_RATIO);
  }, 300_000);

  it("a RUN heredoc of n commands", async () => {
    const make = (n: number) => `FROM scratch\nRUN <<EOF\n${lines(n, (i) => `echo "${i} $(date)" | tee -a /log && apt-get install -y p${i}`)}EOF\n`;
    const r = await ratio(make);
    expect(r.large.instructions).toBe(2);
    expect(r.large.planned).toBe("ok");
    expect(r.ratio).toBeLessThan(MAX_RATIO);
  }, 300_000);

  it("one instruction continued over n physical lines", async () => {
    const make = (n: number) => `FROM scratch\nCOPY \\\n${lines(n, (i) => `  f${i} \\`)}  /dst/\nRUN ls \\\n${lines(n, (i) => `  && echo ${i} | cat \\`)}  && true\n`;
    const r = await ratio(make);
    expect(r.large.instructions).toBe(3);
    expect(r.ratio).toBeLessThan(MAX_RATIO);
  }, 300_000);
});
