/** Cursors: opaque positions in a run's log that decode only when they are ours and canonical. */
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/runs/cursor.js';

const RUN = '8eddae25-0524-4cc3-8f88-c614693aff13';
const EPOCH = 'AbC-d_e9';

/** A cursor built by hand from the text it encodes (bypassing encodeCursor's inputs). */
const handmade = (text: string, prefix = 'c1.'): string => prefix + Buffer.from(text, 'utf8').toString('base64url');

describe('encodeCursor / decodeCursor', () => {
  it.each([0, 1, 42, 999_999_999_999_999])('should round-trip seq %i', (seq) => {
    expect(decodeCursor(encodeCursor(RUN, EPOCH, seq))).toEqual({ runId: RUN, epoch: EPOCH, seq });
  });

  it('should round-trip a run id that is not a UUID', () => {
    expect(decodeCursor(encodeCursor('run-1', 'e', 7))).toEqual({ runId: 'run-1', epoch: 'e', seq: 7 });
  });

  it('should give different cursors to different runs, epochs and positions', () => {
    const cursors = [
      encodeCursor(RUN, EPOCH, 1),
      encodeCursor(RUN, EPOCH, 2),
      encodeCursor(RUN, 'other', 1),
      encodeCursor('another-run', EPOCH, 1),
    ];
    expect(new Set(cursors).size).toBe(cursors.length);
  });

  it('should encode to URL-safe text without padding', () => {
    for (let seq = 0; seq < 50; seq++) expect(encodeCursor(RUN, EPOCH, seq)).toMatch(/^c1\.[A-Za-z0-9_-]+$/);
  });

  it('should accept a hand-built cursor of the canonical form', () => {
    expect(decodeCursor(handmade(`${RUN}:${EPOCH}:5`))).toEqual({ runId: RUN, epoch: EPOCH, seq: 5 });
  });
});

describe('decodeCursor on foreign input', () => {
  it.each([
    ['the empty string', ''],
    ['plain text', 'hello'],
    ['a run id', RUN],
    ['the bare prefix', 'c1.'],
    ['a number', '12'],
    ['base64 without the prefix', Buffer.from(`${RUN}:${EPOCH}:1`).toString('base64url')],
  ])('should reject %s', (_label, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });

  it.each([
    ['another version', 'c2.'],
    ['another case', 'C1.'],
    ['no dot', 'c1'],
    ['a leading space', ' c1.'],
  ])('should reject a cursor with a wrong prefix (%s)', (_label, prefix) => {
    const valid = encodeCursor(RUN, EPOCH, 3);
    expect(decodeCursor(prefix + valid.slice(3))).toBeUndefined();
  });

  it('should reject a cursor with padding added', () => {
    const valid = encodeCursor(RUN, EPOCH, 3);
    expect(valid.endsWith('=')).toBe(false);
    const padded = valid.length % 4 === 3 ? `${valid}=` : `${valid}==`;
    // same bytes once decoded, but not the encoding we give out
    expect(Buffer.from(padded.slice(3), 'base64url').toString('utf8')).toBe(`${RUN}:${EPOCH}:3`);
    expect(decodeCursor(padded)).toBeUndefined();
  });

  it('should reject a cursor in the standard base64 alphabet', () => {
    // '???>>>' encodes to base64 characters 62 and 63: '-' and '_' in base64url, '+' and '/' in base64
    const valid = encodeCursor('run???>>>', EPOCH, 1);
    expect(decodeCursor(valid)).toEqual({ runId: 'run???>>>', epoch: EPOCH, seq: 1 });
    expect(valid.slice(3)).toMatch(/-/);
    expect(valid.slice(3)).toMatch(/_/);
    const standard = valid.replaceAll('-', '+').replaceAll('_', '/');
    expect(Buffer.from(standard.slice(3), 'base64url').toString('utf8')).toBe(`run???>>>:${EPOCH}:1`);
    expect(decodeCursor(standard)).toBeUndefined();
  });

  it('should reject a cursor with trailing characters the decoder ignores', () => {
    const valid = encodeCursor(RUN, EPOCH, 3);
    expect(decodeCursor(`${valid}!`)).toBeUndefined();
    expect(decodeCursor(`${valid} `)).toBeUndefined();
  });

  it('should reject a cursor longer than 200 characters, even a well-formed one', () => {
    const long = encodeCursor('r'.repeat(200), EPOCH, 1);
    expect(long.length).toBeGreaterThan(200);
    expect(decodeCursor(long)).toBeUndefined();
  });

  it('should accept a long run id while the cursor stays within 200 characters', () => {
    const runId = 'r'.repeat(100);
    const cursor = encodeCursor(runId, EPOCH, 1);
    expect(cursor.length).toBeLessThanOrEqual(200);
    expect(decodeCursor(cursor)).toEqual({ runId, epoch: EPOCH, seq: 1 });
  });

  it.each([
    ['letters', 'abc'],
    ['negative', '-1'],
    ['fractional', '1.5'],
    ['empty', ''],
    ['with leading zeros', '007'],
    ['with a sign', '+7'],
    ['in exponent form', '1e3'],
    ['longer than 15 digits', '1234567890123456'],
    ['with spaces', ' 7'],
  ])('should reject a seq that is %s', (_label, seq) => {
    expect(decodeCursor(handmade(`${RUN}:${EPOCH}:${seq}`))).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['too long', 'e'.repeat(33)],
    ['with a dot', 'a.b'],
  ])('should reject an epoch that is %s', (_label, epoch) => {
    expect(decodeCursor(handmade(`${RUN}:${epoch}:1`))).toBeUndefined();
  });

  it('should reject an empty run id', () => {
    expect(decodeCursor(handmade(`:${EPOCH}:1`))).toBeUndefined();
  });

  it.each([
    ['two parts', `${RUN}:1`],
    ['four parts', `${RUN}:${EPOCH}:1:2`],
    ['one part', RUN],
  ])('should reject a cursor of %s', (_label, text) => {
    expect(decodeCursor(handmade(text))).toBeUndefined();
  });
});
