/**
 * Client-side: reassembles files from FileChunkEvents and verifies them (size
 * and SHA-256) before handing them over. No Node-only API: it runs in
 * browsers as in Node 20+ (atob, Uint8Array, Web Crypto). It never hands over
 * a file that is incomplete or does not match its checksum; it says what is
 * wrong instead.
 */

import type { FileFrameHeader } from '../frames/file-frame.js';

/** The fields of a FileChunkEvent the assembler needs: the frame's header and its base64 data. */
export type FileChunk = FileFrameHeader & {
  /** Base64 of this chunk's bytes. */
  readonly data: string;
};

export interface AssembledFile {
  readonly fileId: string;
  readonly name: string;
  readonly mimeType: string;
  readonly size: number;
  readonly sha256: string;
  readonly bytes: Uint8Array;
}

export type FileAssemblyErrorCode =
  | 'INCONSISTENT_CHUNK'
  | 'DUPLICATE_CHUNK'
  | 'SIZE_MISMATCH'
  | 'CHECKSUM_MISMATCH'
  | 'MISSING_CHUNKS';

export class FileAssemblyError extends Error {
  override readonly name = 'FileAssemblyError';

  constructor(
    readonly code: FileAssemblyErrorCode,
    readonly fileId: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  readonly first: FileChunk;
  readonly parts: Map<number, string>;
}

/** Collects chunks of any number of files, in any order. */
export class FileAssembler {
  readonly #pending = new Map<string, Pending>();

  /**
   * Adds one chunk. Resolves to the file once its last chunk arrived and it
   * verified, else to undefined. A chunk seen before with the same data is
   * ignored (a resumed subscription may replay it). Rejects with a
   * FileAssemblyError when chunks disagree or the file fails verification.
   */
  async add(chunk: FileChunk): Promise<AssembledFile | undefined> {
    let pending = this.#pending.get(chunk.fileId);
    if (!pending) {
      pending = { first: chunk, parts: new Map() };
      this.#pending.set(chunk.fileId, pending);
    }
    const { first, parts } = pending;
    if (
      chunk.count !== first.count ||
      chunk.size !== first.size ||
      chunk.sha256 !== first.sha256 ||
      chunk.index < 0 ||
      chunk.index >= chunk.count
    ) {
      throw new FileAssemblyError(
        'INCONSISTENT_CHUNK',
        chunk.fileId,
        `chunk ${chunk.index} of "${first.name}" disagrees with the file's other chunks`,
      );
    }
    const seen = parts.get(chunk.index);
    if (seen !== undefined) {
      if (seen === chunk.data) return undefined;
      throw new FileAssemblyError(
        'DUPLICATE_CHUNK',
        chunk.fileId,
        `chunk ${chunk.index} of "${first.name}" arrived twice with different data`,
      );
    }
    parts.set(chunk.index, chunk.data);
    if (parts.size < first.count) return undefined;
    this.#pending.delete(chunk.fileId);
    return verify(first, parts);
  }

  /** Files still incomplete, with the indexes they lack: call it when the run ended. */
  incomplete(): Array<{ fileId: string; name: string; missing: number[] }> {
    return [...this.#pending.values()].map(({ first, parts }) => ({
      fileId: first.fileId,
      name: first.name,
      missing: Array.from({ length: first.count }, (_, i) => i).filter((i) => !parts.has(i)),
    }));
  }

  /** Throws MISSING_CHUNKS for the first incomplete file, if any. */
  assertComplete(): void {
    const [first] = this.incomplete();
    if (first) {
      throw new FileAssemblyError(
        'MISSING_CHUNKS',
        first.fileId,
        `"${first.name}" lacks chunks ${first.missing.join(', ')}`,
      );
    }
  }
}

async function verify(first: FileChunk, parts: Map<number, string>): Promise<AssembledFile> {
  const decoded = Array.from({ length: first.count }, (_, i) => fromBase64(parts.get(i) ?? ''));
  const bytes = new Uint8Array(decoded.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of decoded) {
    bytes.set(part, offset);
    offset += part.length;
  }
  if (bytes.length !== first.size) {
    throw new FileAssemblyError(
      'SIZE_MISMATCH',
      first.fileId,
      `"${first.name}" has ${bytes.length} bytes, ${first.size} announced`,
    );
  }
  const digest = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
  if (digest !== first.sha256) {
    throw new FileAssemblyError('CHECKSUM_MISMATCH', first.fileId, `"${first.name}" does not match its SHA-256`);
  }
  return { fileId: first.fileId, name: first.name, mimeType: first.mimeType, size: first.size, sha256: digest, bytes };
}

function fromBase64(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
