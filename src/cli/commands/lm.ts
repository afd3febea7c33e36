import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CharNgramLm, DEFAULT_LM_OPTIONS } from '../../lm/char-ngram.js';
import { loadAnyLm, type LmKind } from '../../lm/index.js';
import { DEFAULT_WORD_LM_OPTIONS, WordNgramLm } from '../../lm/word-ngram.js';
import { errorMessage, fail, oneOf, positiveInt } from '../common.js';

/** Sentences from text files (one per line) or JSON lines (*.jsonl: each line's "text" field, as in manifests). */
async function readSentences(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    let content = '';
    try {
      content = await readFile(file, 'utf8');
    } catch (err) {
      fail(errorMessage(err));
    }
    const lines = content.split(/\r?\n/);
    if (!file.endsWith('.jsonl')) {
      out.push(...lines);
      continue;
    }
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let text: unknown;
      try {
        text = (JSON.parse(line) as { text?: unknown }).text;
      } catch {
        fail(`${file}:${i + 1}: not valid JSON`);
      }
      if (typeof text !== 'string') fail(`${file}:${i + 1}: no "text" string`);
      out.push(text as string);
    });
  }
  return out.filter((s) => s.trim().length > 0);
}

interface TrainFlags {
  out: string;
  unit: LmKind;
  order?: number;
  minCount?: number;
}

/** Train and save the LM the flags ask for; returns a one-line description of it. */
async function trainLm(sentences: string[], opts: TrainFlags): Promise<string> {
  const given = { ...(opts.order !== undefined ? { order: opts.order } : {}), ...(opts.minCount !== undefined ? { minCount: opts.minCount } : {}) };
  const count = (n: number): string => n.toLocaleString('en-US');
  if (opts.unit === 'word') {
    const model = WordNgramLm.train(sentences, given);
    await model.save(opts.out);
    return `word LM, order ${model.order}, ${count(model.vocabularySize)} words, ${count(model.size)} n-grams`;
  }
  const model = CharNgramLm.train(sentences, given);
  await model.save(opts.out);
  return `order ${model.order}, ${count(model.size)} n-grams`;
}

export function registerLm(program: Command): void {
  const lm = program.command('lm').description('character and word n-gram language models for beam search (shallow fusion)');
  const c = DEFAULT_LM_OPTIONS;
  const w = DEFAULT_WORD_LM_OPTIONS;
  lm.command('train')
    .description('train a character or word n-gram LM (Witten-Bell smoothing) from text')
    .argument('<text...>', 'text files (one sentence per line) or manifests (*.jsonl, their "text" fields)')
    .requiredOption('-o, --out <file>', 'output file, e.g. lm.bin or word-lm.bin (put it in a model directory to use it by default)')
    .option('--unit <unit>', 'char or word: n-grams of characters or of words', oneOf<LmKind>('--unit', ['char', 'word']), 'char')
    .option('--order <n>', `n-gram order (units of context + 1) (default: ${c.order} for char, ${w.order} for word)`, positiveInt('--order'))
    .option(
      '--min-count <n>',
      `drop n-grams seen fewer times: of order >= 3 for char, >= 2 for word (default: ${c.minCount} for char, ${w.minCount} for word)`,
      positiveInt('--min-count'),
    )
    .addHelpText('after', '\nExamples:\n  koe lm train data/corpus/train.jsonl -o models/default/lm.bin\n  koe lm train --unit word data/corpus/train.jsonl -o models/default/word-lm.bin')
    .action(async (files: string[], opts: TrainFlags) => {
      const sentences = await readSentences(files);
      if (sentences.length === 0) fail('no text to train on');
      const what = await trainLm(sentences, opts).catch((err: unknown) => fail(errorMessage(err)));
      process.stdout.write(`${opts.out}: ${what} from ${sentences.length} sentences\n`);
    });
  lm.command('eval')
    .description('bits per character (character LM) or perplexity and OOV rate (word LM) on held-out text')
    .argument('<lm>', 'LM file (either kind)')
    .argument('<text...>', 'text files or manifests')
    .action(async (file: string, files: string[]) => {
      const model = await loadAnyLm(file).catch((err: unknown) => fail(errorMessage(err)));
      const sentences = await readSentences(files);
      if (model.kind === 'char') {
        process.stdout.write(`${model.lm.bitsPerChar(sentences).toFixed(4)} bits per character on ${sentences.length} sentences\n`);
        return;
      }
      const e = model.lm.evaluate(sentences);
      process.stdout.write(
        `perplexity ${e.perplexity.toFixed(2)} per word (unknown words as <unk>), OOV rate ${(e.oovRate * 100).toFixed(2)}% (${e.oovWords} of ${e.words} words) on ${e.sentences} sentences\n`,
      );
    });
}
