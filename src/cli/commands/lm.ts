import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CharNgramLm, DEFAULT_LM_OPTIONS } from '../../lm/char-ngram.js';
import { errorMessage, fail, positiveInt } from '../common.js';

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

export function registerLm(program: Command): void {
  const lm = program.command('lm').description('character n-gram language models for beam search (shallow fusion)');
  lm.command('train')
    .description('train a character n-gram LM (Witten-Bell smoothing) from text')
    .argument('<text...>', 'text files (one sentence per line) or manifests (*.jsonl, their "text" fields)')
    .requiredOption('-o, --out <file>', 'output file, e.g. lm.bin (put it in a model directory to use it by default)')
    .option('--order <n>', 'n-gram order (characters of context + 1)', positiveInt('--order'), DEFAULT_LM_OPTIONS.order)
    .option('--min-count <n>', 'drop n-grams (order >= 3) seen fewer times', positiveInt('--min-count'), DEFAULT_LM_OPTIONS.minCount)
    .addHelpText('after', '\nExample:\n  koe lm train data/corpus/train.jsonl -o models/default/lm.bin')
    .action(async (files: string[], opts: { out: string; order: number; minCount: number }) => {
      const sentences = await readSentences(files);
      if (sentences.length === 0) fail('no text to train on');
      const model = CharNgramLm.train(sentences, { order: opts.order, minCount: opts.minCount });
      await model.save(opts.out);
      process.stdout.write(`${opts.out}: order ${model.order}, ${model.size.toLocaleString('en-US')} n-grams from ${sentences.length} sentences\n`);
    });
  lm.command('eval')
    .description('bits per character of an LM on held-out text')
    .argument('<lm>', 'LM file')
    .argument('<text...>', 'text files or manifests')
    .action(async (file: string, files: string[]) => {
      const model = await CharNgramLm.load(file).catch((err: unknown) => fail(errorMessage(err)));
      const sentences = await readSentences(files);
      process.stdout.write(`${model.bitsPerChar(sentences).toFixed(4)} bits per character on ${sentences.length} sentences\n`);
    });
}
