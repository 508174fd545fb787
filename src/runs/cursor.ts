/**
 * Cursors: the opaque position of an event in its run's log. Clients pass one
 * back as `after` to resume. A cursor names its run, the log's epoch (one per
 * recording of the run) and the position, so that it is never read against
 * another run, nor against a later recording whose positions mean other events.
 */

const prefix = 'c1.';

export type DecodedCursor = { readonly runId: string; readonly epoch: string; readonly seq: number };

/** The cursor of the event at `seq` in the `epoch` recording of `runId`. */
export function encodeCursor(runId: string, epoch: string, seq: number): string {
  return prefix + Buffer.from(`${runId}:${epoch}:${seq}`, 'utf8').toString('base64url');
}

/** Decodes a cursor; undefined when it is not one of ours. */
export function decodeCursor(cursor: string): DecodedCursor | undefined {
  if (!cursor.startsWith(prefix) || cursor.length > 200) return undefined;
  const parts = Buffer.from(cursor.slice(prefix.length), 'base64url').toString('utf8').split(':');
  if (parts.length !== 3) return undefined;
  const [runId = '', epoch = '', seqText = ''] = parts;
  if (!runId || !/^[A-Za-z0-9_-]{1,32}$/.test(epoch) || !/^\d{1,15}$/.test(seqText)) return undefined;
  const seq = Number(seqText);
  if (encodeCursor(runId, epoch, seq) !== cursor) return undefined; // non-canonical encodings are not ours
  return { runId, epoch, seq };
}
