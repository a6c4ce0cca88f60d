// Types for crash-kit.mjs (plain JavaScript so bench/crash.mjs can share it).
import type { ChildProcess } from "node:child_process";

export declare const CRASH_DOCKERFILE: string;
export declare function writeContext(work: string, variant: string, dockerfile?: string): string;

export interface ProgressEvent {
  type: string;
  id?: number;
  cached?: boolean;
  steps?: { id: number; name: string }[];
  total?: number;
  message?: string;
}
export declare function parseEvents(text: string): ProgressEvent[];
export declare function killGroup(child: ChildProcess, signal?: NodeJS.Signals): void;
export declare function finishedSteps(events: readonly ProgressEvent[]): string[];
export declare function cachedSteps(events: readonly ProgressEvent[]): string[];
export declare function prng(seed: number): () => number;

export interface BuildRun {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; events: ProgressEvent[]; stderr: string }>;
}

export interface CheckJson {
  images: number;
  tags: number;
  cacheEntries: number;
  remaining: number;
  problems: { kind: string; message: string; repaired: boolean; repairable: boolean; tags?: string[] }[];
}

export interface CrashKit {
  tb(root: string, args: readonly string[]): { code: number; stdout: string; stderr: string };
  startBuild(root: string, ctx: string, tag: string, extra?: readonly string[]): BuildRun;
  storeCheck(root: string, repair?: boolean): { code: number; report: CheckJson };
}
export declare function crashKit(cli: string): CrashKit;
