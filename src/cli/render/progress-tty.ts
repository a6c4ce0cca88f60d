// Renders build progress live on a terminal, like BuildKit's tty view: a header
// `[+] Building 1.2s (4/6)`, one line per step (`=> CACHED [2/5] COPY . /app  0.0s`), the
// last lines of a running step's output under it, redrawn in place at most every 100 ms
// and cut to the terminal's size. The final frame stays on screen.
import type { BuildEvent, StepInfo } from "../../build/index.js";
import type { OutStream } from "../io.js";
import type { ProgressRenderer } from "./progress-plain.js";

interface Row {
  info: StepInfo;
  start?: number;
  end?: number;
  cached?: boolean;
  error?: string;
  explain?: string;
  tail: string[];
  partial: string;
}

const TAIL = 6;

export interface TtyOptions {
  readonly columns?: number;
  readonly rows?: number;
  /** Redraw period in ms (default 100). */
  readonly interval?: number;
  readonly now?: () => number;
}

export function ttyRenderer(out: OutStream, opts: TtyOptions = {}): ProgressRenderer {
  const now = opts.now ?? Date.now;
  const cols = (): number => Math.max(40, opts.columns ?? out.columns ?? 80);
  const maxRows = Math.max(10, (opts.rows ?? 24) - 2);
  const rows = new Map<number, Row>();
  const warnings: string[] = [];
  const exportLines: string[] = [];
  const t0 = now();
  let drawn = 0;
  let finished = false;
  let done: { ok: boolean } | undefined;
  let dirty = true;
  const cut = (s: string): string => {
    const c = cols();
    return s.length > c ? `${s.slice(0, c - 1)}…` : s;
  };
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

  const frame = (): string[] => {
    const list = [...rows.values()];
    const complete = list.filter((r) => r.end !== undefined).length;
    const state = done ? (done.ok ? "FINISHED" : "ERROR") : "";
    const lines = [`[+] Building ${secs(now() - t0)} (${complete}/${list.length}) ${state}`.trimEnd()];
    for (const r of list) {
      if (r.start === undefined) continue;
      const time = r.cached ? "0.0s" : secs((r.end ?? now()) - r.start);
      const label = `=> ${r.cached ? "CACHED " : r.error ? "ERROR " : ""}${r.info.name}`;
      const c = cols();
      const room = c - time.length - 1;
      const head = label.length > room ? `${label.slice(0, room - 1)}…` : label.padEnd(room);
      lines.push(`${head} ${time}`);
      if (r.explain) lines.push(cut(`=> => cache miss: ${r.explain}`));
      const running = r.end === undefined || r.error !== undefined;
      if (running) for (const t of [...r.tail, ...(r.partial ? [r.partial] : [])].slice(-TAIL)) lines.push(cut(`=> => # ${t}`));
    }
    for (const l of exportLines) lines.push(cut(l));
    // Bounded: keep the header and the newest lines.
    if (lines.length > maxRows) return [lines[0]!, ...lines.slice(lines.length - maxRows + 1)];
    return lines;
  };

  const draw = (): void => {
    if (!dirty && !done) return;
    dirty = false;
    const lines = frame();
    let s = drawn > 0 ? `\x1b[${drawn}F` : "";
    for (const l of lines) s += `\x1b[2K${l}\n`;
    // Clear what the previous, longer frame left below.
    for (let i = lines.length; i < drawn; i++) s += "\x1b[2K\n";
    if (drawn > lines.length) s += `\x1b[${drawn - lines.length}F`;
    out.write(s);
    drawn = lines.length;
  };
  const timer = setInterval(() => {
    dirty = true;
    draw();
  }, opts.interval ?? 100);
  timer.unref?.();

  const sink = (e: BuildEvent): void => {
    dirty = true;
    switch (e.type) {
      case "plan":
        for (const s of e.steps) rows.set(s.id, { info: s, tail: [], partial: "" });
        break;
      case "step-start": {
        const r = rows.get(e.id);
        if (r) r.start = e.time;
        break;
      }
      case "step-cached": {
        const r = rows.get(e.id);
        if (r) r.cached = true;
        break;
      }
      case "step-explain": {
        const r = rows.get(e.id);
        if (r) r.explain = e.message;
        break;
      }
      case "step-log": {
        const r = rows.get(e.id);
        if (!r) break;
        const lines = (r.partial + e.data).split("\n");
        r.partial = lines.pop()!;
        r.tail.push(...lines.map((l) => l.replace(/\r/g, "")));
        if (r.tail.length > TAIL) r.tail.splice(0, r.tail.length - TAIL);
        break;
      }
      case "step-done": {
        const r = rows.get(e.id);
        if (r) r.end = e.time;
        break;
      }
      case "step-error": {
        const r = rows.get(e.id);
        if (r) {
          r.end = e.time;
          r.error = e.message;
        }
        break;
      }
      case "warning":
        warnings.push(`WARNING: ${e.file ? `${e.file}:${e.line ?? 0}: ` : ""}${e.message}`);
        break;
      case "export":
        if (exportLines.length === 0) exportLines.push("=> exporting to image");
        if (e.phase === "config") exportLines.push(`=> => writing image ${e.detail}`);
        if (e.phase === "naming") exportLines.push(`=> => naming to ${e.detail}`);
        break;
      case "done":
        break;
    }
  };
  return {
    sink,
    finish: (ok: boolean) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      done = { ok };
      draw();
      for (const w of warnings) out.write(`${w}\n`);
    },
  };
}
