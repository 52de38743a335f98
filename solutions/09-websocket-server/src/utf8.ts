// UTF-8 checked as bytes arrive (RFC 3629 §4), so a text message that cannot be valid fails at
// the first bad byte, not once it is whole, and a code point split across fragments (or TCP
// segments) is fine. A small DFA: the state is what the next bytes must be.

/** Bytes still expected in the current code point, and the bounds the next one must fall in. */
export class Utf8Validator {
  private need = 0;
  private low = 0x80;
  private high = 0xbf;

  /** False once the bytes so far can be no prefix of valid UTF-8. */
  push(bytes: Uint8Array): boolean {
    for (const b of bytes) {
      if (this.need === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) this.expect(1, 0x80, 0xbf);
        else if (b === 0xe0)
          this.expect(2, 0xa0, 0xbf); // no overlong 3-byte forms
        else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) this.expect(2, 0x80, 0xbf);
        else if (b === 0xed)
          this.expect(2, 0x80, 0x9f); // no surrogates
        else if (b === 0xf0)
          this.expect(3, 0x90, 0xbf); // no overlong 4-byte forms
        else if (b >= 0xf1 && b <= 0xf3) this.expect(3, 0x80, 0xbf);
        else if (b === 0xf4)
          this.expect(3, 0x80, 0x8f); // nothing past U+10FFFF
        else return false;
        continue;
      }
      if (b < this.low || b > this.high) return false;
      this.need--;
      this.low = 0x80;
      this.high = 0xbf;
    }
    return true;
  }

  /** Whether the bytes so far end on a whole code point (a message may end here). */
  get complete(): boolean {
    return this.need === 0;
  }

  reset(): void {
    this.need = 0;
    this.low = 0x80;
    this.high = 0xbf;
  }

  private expect(continuation: number, low: number, high: number): void {
    this.need = continuation;
    this.low = low;
    this.high = high;
  }
}
