import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { renderAttentionPlot } from '../../plot/attention.js';
import { defaultModelDir } from '../../transcriber.js';
import { addDecodeOptions, decodeOptionsFrom, errorMessage, EXIT_FAILURE, loadTranscriber, positiveInt, startBackend, type DecodeFlags } from '../common.js';

interface TranscribeOptions extends DecodeFlags {
  nbest: number;
  plot?: string;
  json?: boolean;
}

export function registerTranscribe(program: Command): void {
  const cmd = program
    .command('transcribe')
    .description('transcribe WAV files (any PCM or float encoding, any rate, mono or multi-channel)')
    .argument('<wav...>', 'WAV files');
  addDecodeOptions(cmd, defaultModelDir())
    .option('--nbest <n>', 'return the n best hypotheses with scores (beam search; shown with --json)', positiveInt('--nbest'), 1)
    .option('--plot <png>', 'draw the attention alignment over the features with the recognized characters (one file: this name; several: name-<n>.png)')
    .option('--json', 'one JSON object per line: {"file","text","confidence","duration","rtf",...}')
    .addHelpText('after', '\nExamples:\n  koe transcribe audio-samples/sample1.wav\n  koe transcribe --beam 8 --json a.wav b.wav')
    .action(async (files: string[], opts: TranscribeOptions, cmd: Command) => {
      await startBackend(cmd);
      const transcriber = await loadTranscriber(opts);
      let failures = 0;
      for (const file of files) {
        try {
          const r = await transcriber.transcribe(file, { ...decodeOptionsFrom(opts), beam: Math.max(opts.beam, opts.nbest), nbest: opts.nbest });
          if (opts.plot) {
            const target = files.length > 1 ? opts.plot.replace(/(\.png)?$/i, `-${files.indexOf(file) + 1}.png`) : opts.plot;
            const best = r.hypotheses[0]!;
            await writeFile(
              target,
              renderAttentionPlot({
                features: r.features,
                alignments: best.alignments,
                text: best.text,
                timeReduction: transcriber.loaded.model.config.timeReduction,
                hopSeconds: transcriber.loaded.features.hopMs / 1000,
                title: path.basename(file),
              }),
            );
          }
          if (opts.json) {
            const line: Record<string, unknown> = {
              file,
              text: r.text,
              confidence: round(r.confidence, 4),
              duration: round(r.duration, 3),
              rtf: round(r.rtf, 4),
              words: r.words.map((w) => ({ word: w.word, start: round(w.start, 3), end: round(w.end, 3), confidence: round(w.confidence, 4) })),
            };
            if (opts.nbest > 1) line.nbest = r.hypotheses.map((h) => ({ text: h.text, score: round(h.score, 4), logProb: round(h.logProb, 4) }));
            process.stdout.write(JSON.stringify(line) + '\n');
          } else {
            process.stdout.write(files.length > 1 ? `${file}: ${r.text}\n` : `${r.text}\n`);
          }
        } catch (err) {
          failures++;
          process.stderr.write(`koe: ${errorMessage(err)}\n`);
        }
      }
      transcriber.dispose();
      if (failures > 0) process.exitCode = EXIT_FAILURE;
    });
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
