import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readManifest } from '../../io/manifest.js';
import { CharNgramLm, DEFAULT_LM_OPTIONS } from '../../lm/char-ngram.js';
import { errorMessage, fail, positiveInt } from '../common.js';

/** Sentences from text files (one per line) or manifests (*.jsonl: their "text" fields). */
async function readSentences(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    try {
      if (file.endsWith('.jsonl') || file.endsWith('.json')) out.push(...(await readManifest(file)).map((e) => e.text));
      else out.push(...(await readFile(file, 'utf8')).split(/\r?\n/));
    } catch (err) {
      fail(errorMessage(err));
    }
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
