/** koe's language models, and loading either kind from a file by its format. */
import { CharNgramLm, LM_FORMAT } from './char-ngram.js';
import { readLmFile, type LmDocument } from './lm-file.js';
import { WORD_LM_FORMAT, WordNgramLm } from './word-ngram.js';

export type LmKind = 'char' | 'word';
export type AnyLm = { kind: 'char'; lm: CharNgramLm } | { kind: 'word'; lm: WordNgramLm };

function kindOf(doc: LmDocument, file: string): LmKind {
  if (doc.format === LM_FORMAT) return 'char';
  if (doc.format === WORD_LM_FORMAT) return 'word';
  throw new Error(`${file} is not a koe language model (format ${JSON.stringify(doc.format)})`);
}

/** The character or word LM in `file`, whichever it holds. */
export async function loadAnyLm(file: string): Promise<AnyLm> {
  const doc = await readLmFile(file);
  return kindOf(doc, file) === 'word' ? { kind: 'word', lm: WordNgramLm.fromDocument(doc, file) } : { kind: 'char', lm: CharNgramLm.fromDocument(doc, file) };
}

/** What kind of LM `file` holds and its order, read from its header fields without building the model. */
export async function describeLmFile(file: string): Promise<{ kind: LmKind; order: number }> {
  const doc = await readLmFile(file);
  return { kind: kindOf(doc, file), order: Number(doc.order) };
}
