/**
 * The character vocabulary: padding, start and end symbols, then space, apostrophe and a-z.
 * Ids are stable: they index the decoder's input and output matrices saved with a model.
 */
export const PAD = 0;
export const SOS = 1;
export const EOS = 2;
const SPECIALS = ['<pad>', '<sos>', '<eos>'];
const CHARACTERS = [' ', "'", ...'abcdefghijklmnopqrstuvwxyz'];

export class Vocabulary {
  readonly symbols: readonly string[];
  private readonly index: Map<string, number>;

  constructor(symbols: readonly string[] = [...SPECIALS, ...CHARACTERS]) {
    if (symbols[PAD] !== '<pad>' || symbols[SOS] !== '<sos>' || symbols[EOS] !== '<eos>') {
      throw new Error('vocabulary must start with <pad>, <sos>, <eos>');
    }
    this.symbols = symbols;
    this.index = new Map(symbols.map((s, i) => [s, i]));
  }

  get size(): number {
    return this.symbols.length;
  }

  /** Character ids of a normalized transcript (no start/end symbols). Throws on unknown characters. */
  encode(text: string): number[] {
    return [...text].map((ch) => {
      const id = this.index.get(ch);
      if (id === undefined || id <= EOS) throw new Error(`character ${JSON.stringify(ch)} is not in the vocabulary`);
      return id;
    });
  }

  /** Text of character ids; stops at the first end symbol and skips padding/start symbols. */
  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) {
      if (id === EOS) break;
      if (id <= EOS) continue;
      out += this.symbols[id] ?? '';
    }
    return out;
  }
}
