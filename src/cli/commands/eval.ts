import type { Command } from 'commander';
import { evaluate, manifestEvalItems, worstUtterances } from '../../eval/evaluate.js';
import { readManifest, writeManifest } from '../../io/manifest.js';
import { alignWords, formatAlignment } from '../../metrics/wer.js';
import { SAMPLE_RATE } from '../../transcriber.js';
import { Progress } from '../../train/progress.js';
import { addDecodeOptions, decodeOptionsFrom, fail, loadTranscriber, positiveInt, startBackend, type DecodeFlags } from '../common.js';
import { round } from './transcribe.js';

interface EvalOptions extends DecodeFlags {
  json?: boolean;
  hyp?: string;
  worst: number;
  batch: number;
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('word and character error rates of a model on a manifest (NeMo JSON lines)')
    .argument('<manifest>', 'JSON lines: {"audio_filepath","text","duration"}; relative paths resolve against its folder');
  addDecodeOptions(cmd)
    .option('--json', 'print one summary object {"wer","cer","sub","del","ins","words","utts","rtf"}')
    .option('--hyp <file>', 'write hypotheses as JSON lines (audio_filepath, text, ref, confidence)')
    .option('--worst <n>', 'show the n worst utterances with their alignment', positiveInt('--worst'), 5)
    .option('--batch <n>', 'utterances decoded together (greedy only)', positiveInt('--batch'), 16)
    .addHelpText('after', '\nExample:\n  koe eval data/corpus/test.jsonl --beam 8 --hyp hyp.jsonl')
    .action(async (manifest: string, opts: EvalOptions, cmd: Command) => {
      await startBackend(cmd);
      const transcriber = await loadTranscriber(opts);
      // The flags given, over the model's recommended settings, over the global defaults.
      const decodeOptions = transcriber.resolveDecodeOptions(decodeOptionsFrom(opts));
      let entries;
      try {
        entries = await readManifest(manifest);
      } catch (err) {
        fail((err as Error).message);
      }
      if (entries.length === 0) fail(`${manifest} has no utterances`);
      const items = manifestEvalItems(entries, transcriber, SAMPLE_RATE);
      const bar = new Progress(items.length, 'eval', [], opts.json === true);
      bar.start();
      const greedy = decodeOptions.decoder === 'ctc' || (decodeOptions.beam <= 1 && decodeOptions.hotwords.length === 0);
      const report = await evaluate(
        items,
        (feats) => (greedy ? transcriber.decodeBatch(feats, decodeOptions.decoder) : feats.map((f) => transcriber.decode(f, decodeOptions)[0]!)),
        { batchSize: greedy ? opts.batch : 1, onProgress: (done) => bar.update(done) },
      );
      bar.stop();
      const hasCtc = transcriber.loaded.model.config.ctcLayer !== undefined;
      transcriber.dispose();
      for (const sk of report.skipped) process.stderr.write(`koe eval: skipped ${sk.reason}\n`);
      // Scores without some utterances are not the manifest's scores: say so in the exit code too.
      if (report.skipped.length > 0) process.exitCode = 1;
      if (opts.hyp) {
        await writeManifest(
          opts.hyp,
          report.utterances.map((u) => ({ audio_filepath: u.audioPath, text: u.hyp, ref: u.ref, confidence: round(u.confidence, 4), duration: round(u.duration, 3) })),
        );
      }
      const summary = {
        wer: round(report.wer, 6),
        cer: round(report.cer, 6),
        sub: report.sub,
        del: report.del,
        ins: report.ins,
        words: report.words,
        utts: report.utts,
        rtf: round(report.rtf, 5),
        ...(report.skipped.length > 0 ? { skipped: report.skipped.length } : {}),
      };
      if (opts.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
      const scorers = [
        ...(!greedy && transcriber.languageModel && decodeOptions.lmWeight ? [`LM (weight ${decodeOptions.lmWeight})`] : []),
        ...(!greedy && transcriber.wordLanguageModel && decodeOptions.wordLmWeight ? [`word LM (weight ${decodeOptions.wordLmWeight})`] : []),
        ...(!greedy && hasCtc && decodeOptions.ctcWeight ? [`CTC (weight ${decodeOptions.ctcWeight})`] : []),
      ];
      const decoderLabel = decodeOptions.decoder === 'ctc' ? 'CTC best path' : (greedy ? 'greedy' : `beam ${decodeOptions.beam}`) + scorers.map((x) => ` + ${x}`).join('');
      process.stdout.write(
        [
          `utterances  ${summary.utts} (${(report.audioSeconds / 60).toFixed(1)} min of audio), ${decoderLabel}` +
            (report.skipped.length > 0 ? `; ${report.skipped.length} skipped (unreadable audio)` : ''),
          `WER         ${pct(report.wer)}  (S ${report.sub}, D ${report.del}, I ${report.ins} of ${report.words} words)`,
          `CER         ${pct(report.cer)}`,
          `RTF         ${report.rtf.toFixed(4)}`,
          '',
        ].join('\n'),
      );
      const worst = worstUtterances(report, opts.worst);
      if (worst.length > 0) {
        process.stdout.write(`worst ${worst.length} utterances:\n`);
        for (const u of worst) {
          process.stdout.write(`${u.audioPath}  (CER ${pct((u.char.sub + u.char.del + u.char.ins) / Math.max(1, u.char.refLength))})\n`);
          process.stdout.write(formatAlignment(alignWords(u.ref, u.hyp).ops) + '\n');
        }
      }
    });
}
