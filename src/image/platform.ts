// Platforms: parse `linux/arm64/v8`, format, and map Node's arch names to OCI's. Pure.
import { TbuildError } from "../util/index.js";
import type { Platform } from "./types.js";

const NODE_ARCH: Readonly<Record<string, string>> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64", mips: "mips", mipsel: "mipsle" };

/** The OCI architecture name for a Node `process.arch` value. */
export function ociArchitecture(nodeArch: string): string {
  return NODE_ARCH[nodeArch] ?? nodeArch;
}

/** Parse `os/arch[/variant]`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "" || !/^[a-z0-9_.-]+$/.test(p))) {
    throw new TbuildError("E_USAGE", `invalid platform ${JSON.stringify(s)}`, { hint: "expected os/arch[/variant], e.g. linux/amd64" });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}
