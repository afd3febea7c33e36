/** Reading and writing koe's language-model files: gzipped JSON documents named by format and version. */
import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../io/atomic.js';

/** A parsed LM file; the fields beyond these are each format's own. */
export interface LmDocument {
  format?: unknown;
  formatVersion?: unknown;
  [field: string]: unknown;
}

export async function writeLmFile(file: string, doc: LmDocument): Promise<void> {
  await writeFileAtomic(file, gzipSync(JSON.stringify(doc)));
}

/** The document in `file`; throws "language model FILE not found" or "... is corrupt or not a koe LM". */
export async function readLmFile(file: string): Promise<LmDocument> {
  let doc: unknown;
  try {
    doc = JSON.parse(gunzipSync(await readFile(file)).toString('utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `language model ${file} not found` : `language model ${file} is corrupt or not a koe LM`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`language model ${file} is corrupt or not a koe LM`);
  return doc as LmDocument;
}

/** Whether `doc` is of the given format and version. */
export function isLmFormat(doc: LmDocument, format: string, version: number): boolean {
  return doc.format === format && doc.formatVersion === version;
}
