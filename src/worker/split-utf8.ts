/**
 * Cuts UTF-8 text into pieces of at most a given number of bytes, only at
 * code point boundaries, so that every piece decodes on its own to a part of
 * the text (a surrogate pair is one 4-byte sequence, never split).
 */

/** The smallest limit that always makes progress: the longest UTF-8 sequence. */
export const MIN_SPLIT_BYTES = 4;

/** Views of `utf8` (no copies), each at most `maxBytes` long; one empty piece for empty input. */
export function splitUtf8(utf8: Uint8Array, maxBytes: number): Uint8Array[] {
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= MIN_SPLIT_BYTES)) {
    throw new RangeError(`maxBytes must be an integer of at least ${MIN_SPLIT_BYTES}`);
  }
  if (utf8.length <= maxBytes) return [utf8];
  const pieces: Uint8Array[] = [];
  let start = 0;
  while (start < utf8.length) {
    let end = Math.min(start + maxBytes, utf8.length);
    while (end < utf8.length && end > start && isContinuationByte(utf8[end] as number)) end--;
    // only bytes that are not UTF-8 get here: cut them anywhere rather than loop
    if (end === start) end = Math.min(start + maxBytes, utf8.length);
    pieces.push(utf8.subarray(start, end));
    start = end;
  }
  return pieces;
}

function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}
