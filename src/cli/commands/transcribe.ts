import type { Command } from 'commander';
import { ModelLoadError } from '../../io/model-dir.js';
import { defaultModelDir, Transcriber } from '../../transcriber.js';
import { errorMessage, EXIT_FAILURE, fail, nonNegativeNumber, positiveInt, startBackend } from '../common.js';

interface TranscribeOptions {
  model: string;
  beam: number;
  nbest: number;
  lengthPenalty: number;
  json?: boolean;
}

export function registerTranscribe(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe WAV files (any PCM or float encoding, any rate, mono or multi-channel)')
    .argument('<wav...>', 'WAV files')
    .option('-m, --model <dir>', 'model directory', defaultModelDir())
    .option('-b, --beam <n>', 'beam width (1 = greedy)', positiveInt('--beam'), 1)
    .option('--nbest <n>', 'return the n best hypotheses (needs --beam >= n; shown with --json)', positiveInt('--nbest'), 1)
    .option('--length-penalty <x>', 'beam search: divide scores by length^x', nonNegativeNumber('--length-penalty'), 1)
    .option('--json', 'one JSON object per line: {"file","text","confidence","duration","rtf",...}')
    .addHelpText('after', '\nExamples:\n  koe transcribe audio-samples/sample1.wav\n  koe transcribe --beam 8 --json a.wav b.wav')
    .action(async (files: string[], opts: TranscribeOptions, cmd: Command) => {
      await startBackend(cmd);
      let transcriber: Transcriber;
      try {
        transcriber = await Transcriber.load(opts.model);
      } catch (err) {
        if (err instanceof ModelLoadError) fail(err.message);
        throw err;
      }
      let failures = 0;
      for (const file of files) {
        try {
          const r = await transcriber.transcribe(file, { beam: Math.max(opts.beam, opts.nbest), nbest: opts.nbest, lengthPenalty: opts.lengthPenalty });
          if (opts.json) {
            const line: Record<string, unknown> = {
              file,
              text: r.text,
              confidence: round(r.confidence, 4),
              duration: round(r.duration, 3),
              rtf: round(r.rtf, 4),
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
