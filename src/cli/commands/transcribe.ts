import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadAudio } from '../../audio/index.js';
import { DEFAULT_MAX_SEGMENT_SECONDS, transcribeLong, type Segment } from '../../long-audio.js';
import { cuesFromSegments, toSrt, toVtt } from '../../output/subtitles.js';
import { renderAttentionPlot } from '../../plot/attention.js';
import { Progress } from '../../train/progress.js';
import { SAMPLE_RATE, type Transcriber } from '../../transcriber.js';
import { addDecodeOptions, decodeOptionsFrom, errorMessage, EXIT_FAILURE, loadTranscriber, nonNegativeNumber, positiveInt, startBackend, type DecodeFlags } from '../common.js';

const FORMATS = ['txt', 'json', 'srt', 'vtt'] as const;
type Format = (typeof FORMATS)[number];

interface TranscribeOptions extends DecodeFlags {
  nbest: number;
  plot?: string;
  json?: boolean;
  format: Format;
  outputDir?: string;
  maxSegment: number;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function parseFormat(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}`);
  return value as Format;
}

/** A file's result in every format's terms: one piece, or several split at pauses. */
interface FileResult {
  text: string;
  confidence: number;
  duration: number;
  rtf: number;
  segments: Segment[];
  extra: Record<string, unknown>;
}

async function transcribeFile(t: Transcriber, file: string, opts: TranscribeOptions, plotPath: string | undefined): Promise<FileResult> {
  const samples = await loadAudio(file, SAMPLE_RATE);
  const duration = samples.length / SAMPLE_RATE;
  // --nbest N needs a beam at least N wide.
  const given = decodeOptionsFrom(opts);
  const decode = { ...given, beam: Math.max(t.resolveDecodeOptions(given).beam, opts.nbest), nbest: opts.nbest };
  const split = opts.format === 'srt' || opts.format === 'vtt' || duration > opts.maxSegment;
  if (split) {
    const bar = duration > 60 ? new Progress(Math.round(duration), path.basename(file) + ' (s)') : undefined;
    bar?.start();
    const long = await transcribeLong(t, samples, SAMPLE_RATE, { ...decode, maxSegmentSeconds: opts.maxSegment, onProgress: (done) => bar?.update(Math.round(done)) });
    bar?.stop();
    const words = long.segments.reduce((n, s) => n + s.words.length, 0);
    const confidence = words > 0 ? long.segments.reduce((c, s) => c + s.confidence * s.words.length, 0) / words : 0;
    return { text: long.text, confidence, duration, rtf: long.rtf, segments: long.segments, extra: {} };
  }
  const r = await t.transcribe(samples, decode);
  const best = r.hypotheses[0]!;
  if (plotPath) {
    await writeFile(
      plotPath,
      renderAttentionPlot({
        features: r.features,
        alignments: best.alignments,
        text: best.text,
        timeReduction: t.loaded.model.config.timeReduction,
        hopSeconds: t.loaded.features.hopMs / 1000,
        title: path.basename(file),
      }),
    );
  }
  const extra: Record<string, unknown> = {};
  if (opts.nbest > 1) extra.nbest = r.hypotheses.map((h) => ({ text: h.text, score: round(h.score, 4), logProb: round(h.logProb, 4) }));
  const segment: Segment = { start: 0, end: duration, text: r.text, confidence: r.confidence, words: r.words };
  return { text: r.text, confidence: r.confidence, duration, rtf: r.rtf, segments: r.text ? [segment] : [], extra };
}

function render(file: string, r: FileResult, format: Format): string {
  switch (format) {
    case 'txt':
      return r.text + '\n';
    case 'srt':
      return toSrt(cuesFromSegments(r.segments));
    case 'vtt':
      return toVtt(cuesFromSegments(r.segments));
    case 'json': {
      const words = r.segments.flatMap((s) => s.words).map((w) => ({ word: w.word, start: round(w.start, 3), end: round(w.end, 3), confidence: round(w.confidence, 4) }));
      const line: Record<string, unknown> = {
        file,
        text: r.text,
        confidence: round(r.confidence, 4),
        duration: round(r.duration, 3),
        rtf: round(r.rtf, 4),
        words,
        ...r.extra,
      };
      if (r.segments.length > 1) line.segments = r.segments.map((s) => ({ start: round(s.start, 3), end: round(s.end, 3), text: s.text, confidence: round(s.confidence, 4) }));
      return JSON.stringify(line) + '\n';
    }
  }
}

export function registerTranscribe(program: Command): void {
  const cmd = program
    .command('transcribe')
    .description('transcribe WAV files (any PCM or float encoding, any rate, mono or multi-channel, any length)')
    .argument('<wav...>', 'WAV files');
  addDecodeOptions(cmd)
    .option('--nbest <n>', 'return the n best hypotheses with scores (beam search; in json output)', positiveInt('--nbest'), 1)
    .option('-f, --format <fmt>', `output format: ${FORMATS.join(', ')} (srt/vtt: subtitle cues split at pauses)`, parseFormat, 'txt')
    .option('--json', 'same as --format json: one object per file {"file","text","confidence","duration","rtf","words",...}')
    .option('-o, --output-dir <dir>', 'write <name>.<format> files there instead of printing')
    .option('--max-segment <s>', 'audio longer than this is split at pauses into pieces of at most this many seconds', nonNegativeNumber('--max-segment'), DEFAULT_MAX_SEGMENT_SECONDS)
    .option('--plot <png>', 'draw the attention alignment over the features with the recognized characters (several files: name-<n>.png)')
    .addHelpText('after', '\nExamples:\n  koe transcribe audio-samples/sample1.wav\n  koe transcribe --beam 8 --json a.wav b.wav\n  koe transcribe --format srt -o subs/ lecture.wav')
    .action(async (files: string[], opts: TranscribeOptions, cmd: Command) => {
      if (opts.json) opts.format = 'json';
      await startBackend(cmd);
      const transcriber = await loadTranscriber(opts);
      if (opts.outputDir) await mkdir(opts.outputDir, { recursive: true });
      let failures = 0;
      for (const [i, file] of files.entries()) {
        try {
          const plotPath = opts.plot && files.length > 1 ? opts.plot.replace(/(\.png)?$/i, `-${i + 1}.png`) : opts.plot;
          const result = await transcribeFile(transcriber, file, opts, plotPath);
          const out = render(file, result, opts.format);
          if (opts.outputDir) {
            await writeFile(path.join(opts.outputDir, `${path.basename(file).replace(/\.[^.]*$/, '')}.${opts.format}`), out);
          } else {
            process.stdout.write(opts.format === 'txt' && files.length > 1 ? `${file}: ${out}` : out);
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
