// Byte-exact checks of what a client receives, computed independently of the services that send
// it: an expected stream (echo: what was sent, in order), the http service's /bytes/N body (byte i
// = i mod 251) and RFC 864's chargen pattern. Each records the offset of the first wrong byte (-1
// while everything matched). Used by the simulation's service checks and by the packet fuzzer.

/** /bytes/N: byte i is i mod PATTERN_MOD. */
export const PATTERN_MOD = 251;
/** RFC 864: lines of 72 printable characters cycling through the 95 from 32. */
const CHARGEN_LINE = 72, CHARGEN_CHARS = 95;

/** Compares a received stream with the chunks pushed (what was sent, in order). */
export class ExpectedBytes {
  mismatchAt = -1;
  private readonly q: Uint8Array[] = [];
  private off = 0;
  private pos = 0;
  push(b: Uint8Array): void { this.q.push(b); }
  check(d: Uint8Array): void {
    for (let i = 0; i < d.length; i++, this.pos++) {
      const head = this.q[0];
      if (head === undefined || head[this.off] !== d[i]) {
        if (this.mismatchAt < 0) this.mismatchAt = this.pos;
        return;
      }
      if (++this.off === head.length) { this.q.shift(); this.off = 0; }
    }
  }
}

/** Checks a body against byte i = i mod 251 (the http service's /bytes/N). */
export class ModPatternChecker {
  mismatchAt = -1;
  check(b: Uint8Array, off: number): void {
    if (this.mismatchAt >= 0) return;
    let v = off % PATTERN_MOD;
    for (let i = 0; i < b.length; i++) {
      if (b[i] !== v) { this.mismatchAt = off + i; return; }
      if (++v === PATTERN_MOD) v = 0;
    }
  }
}

/**
 * Checks a stream against RFC 864's pattern, computed here independently of the server: line L
 * (from 0) holds the 72 characters 32 + (L + i) mod 95, then CR LF.
 */
export class ChargenChecker {
  mismatchAt = -1;
  private pos = 0;
  private line = 0;
  private col = 0;
  check(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) {
      if (this.mismatchAt < 0) {
        const want = this.col < CHARGEN_LINE ? 32 + ((this.line + this.col) % CHARGEN_CHARS) : this.col === CHARGEN_LINE ? 13 : 10;
        if (b[i] !== want) this.mismatchAt = this.pos + i;
      }
      if (++this.col === CHARGEN_LINE + 2) {
        this.col = 0;
        if (++this.line === CHARGEN_CHARS) this.line = 0;
      }
    }
    this.pos += b.length;
  }
}
