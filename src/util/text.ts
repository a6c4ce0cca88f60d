// Character classes shared by the Dockerfile parser and the shell-word lexer (pure).

/** Go's unicode.IsSpace, for one UTF-16 unit (every space it knows is in the BMP). */
export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** `n` with thousands separators (10000 → "10,000"), the same in every locale. */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}
