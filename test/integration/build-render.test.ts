// The progress renderers over a scripted event stream (no build): BuildKit's plain layout,
// the tty live view (header, CACHED, output tail, bounded height, final frame) and JSON lines.
import { describe, expect, it } from "vitest";
import type { BuildEvent } from "../../src/build/index.js";
import { jsonRenderer } from "../../src/cli/render/json.js";
import { plainRenderer } from "../../src/cli/render/progress-plain.js";
import { ttyRenderer } from "../../src/cli/render/progress-tty.js";

class Sink {
  text = "";
  isTTY = true;
  columns = 80;
  write(s: string | Uint8Array): boolean {
    this.text += s.toString();
    return true;
  }
}

const steps = [
  { id: 1, name: "[1/3] FROM docker.io/library/busybox:test", stage: 0, index: 0, file: "Dockerfile", line: 1 },
  { id: 2, name: "[2/3] COPY . /app", stage: 0, index: 1, file: "Dockerfile", line: 2 },
  { id: 3, name: "[3/3] RUN make", stage: 0, index: 2, file: "Dockerfile", line: 3 },
];

function script(): BuildEvent[] {
  const t = 1_000_000;
  return [
    { type: "plan", time: t, steps, target: 0, stages: 1 },
    { type: "step-start", time: t, id: 1 },
    { type: "step-done", time: t + 10, id: 1, cached: true, durationMs: 10 },
    { type: "step-start", time: t + 10, id: 2 },
    { type: "step-cached", time: t + 11, id: 2 },
    { type: "step-done", time: t + 11, id: 2, cached: true, durationMs: 1 },
    { type: "step-start", time: t + 20, id: 3 },
    { type: "step-explain", time: t + 20, id: 3, message: "RUN make: src/main.c changed" },
    { type: "step-log", time: t + 30, id: 3, stream: "stdout", data: "cc main.c\nld a.o" },
    { type: "step-log", time: t + 40, id: 3, stream: "stdout", data: "ut\n" },
    { type: "step-done", time: t + 1520, id: 3, cached: false, durationMs: 1500 },
    { type: "export", time: t + 1530, phase: "config", detail: "sha256:abc" },
    { type: "export", time: t + 1531, phase: "manifest", detail: "sha256:def" },
    { type: "export", time: t + 1532, phase: "naming", detail: "docker.io/library/app:latest" },
    { type: "done", time: t + 1540, imageId: "sha256:abc", manifestDigest: "sha256:def", tags: ["docker.io/library/app:latest"], durationMs: 1540, cached: 1, total: 2 },
  ];
}

describe("progress renderers", () => {
  it("plain: BuildKit's #N blocks with CACHED, cache-miss reason, output lines and DONE", () => {
    const out = new Sink();
    const r = plainRenderer(out);
    for (const e of script()) r.sink(e);
    r.finish(true);
    const lines = out.text.split("\n");
    expect(lines).toContain("#2 [2/3] COPY . /app");
    expect(lines).toContain("#2 CACHED");
    expect(lines).toContain("#3 cache miss: RUN make: src/main.c changed");
    expect(lines.filter((l) => /^#3 +[\d.]+ (cc main\.c|ld a\.out)$/.test(l))).toHaveLength(2);
    expect(lines).toContain("#3 DONE 1.5s");
    expect(lines).toContain("#4 writing image sha256:abc done");
    expect(lines).toContain("#4 naming to docker.io/library/app:latest done");
  });

  it("tty: a live header and step lines, the running step's output tail, redrawn in place and bounded", () => {
    const out = new Sink();
    let now = 1_000_000;
    const r = ttyRenderer(out, { columns: 60, rows: 12, interval: 60_000, now: () => now });
    const events = script();
    for (const e of events.slice(0, 10)) r.sink(e);
    for (let i = 0; i < 30; i++) r.sink({ type: "step-log", time: now, id: 3, stream: "stdout", data: `line ${i}\n` });
    now += 500;
    r.finish(false);
    const frame = out.text.split("\n");
    expect(frame[0]).toMatch(/\[\+\] Building \d+\.\ds \(2\/3\) ERROR/);
    expect(out.text).toContain("=> CACHED [2/3] COPY . /app");
    expect(out.text).toContain("=> => # line 29");
    expect(out.text).not.toContain("=> => # line 20");
    expect(out.text).toContain("cache miss: RUN make: src/main.c changed");
    // Bounded: never more than rows - 2 lines per frame; every line fits the width.
    expect(frame.filter((l) => l !== "").length).toBeLessThanOrEqual(10);
    for (const l of frame) expect(l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").length).toBeLessThanOrEqual(60);
  });

  it("tty: the final frame says FINISHED and shows the export lines", () => {
    const out = new Sink();
    let now = 0;
    const r = ttyRenderer(out, { interval: 60_000, now: () => now });
    for (const e of script()) {
      now = e.time;
      r.sink(e);
    }
    r.finish(true);
    expect(out.text).toContain("FINISHED");
    expect(out.text).toContain("=> => naming to docker.io/library/app:latest");
  });

  it("json: one parseable event per line, in order", () => {
    const out = new Sink();
    const r = jsonRenderer(out);
    for (const e of script()) r.sink(e);
    const parsed = out.text.trim().split("\n").map((l) => JSON.parse(l) as BuildEvent);
    expect(parsed.map((e) => e.type)).toEqual(script().map((e) => e.type));
  });
});
