/**
 * `koe listen`: live dictation from a microphone (node-record-lpcm16: sox, rec or arecord),
 * or from a WAV file streamed through the same path (--input, real time or --fast).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { AudioError, encodeWav } from '../../audio/index.js';
import { DEFAULT_DECODE_OPTIONS } from '../../decode/hypothesis.js';
import { Dictation, LISTEN_SAMPLE_RATE, type DictationEvent, type Recognizer } from '../../listen/dictation.js';
import { EventPrinter, type PrintMode } from '../../listen/printer.js';
import { checkRecorder, FileSource, ListenError, MicrophoneSource, RECORDERS, type AudioSource, type RecorderName } from '../../listen/sources.js';
import { DEFAULT_VAD_OPTIONS } from '../../vad/index.js';
import {
  addWordLmOptions,
  errorMessage,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  fail,
  globalOptions,
  loadTranscriber,
  modelOption,
  nonNegativeNumber,
  positiveInt,
  recommendedDefault,
  startBackend,
  wordLmOptionsFrom,
  type WordLmFlags,
} from '../common.js';

interface ListenCliOptions extends WordLmFlags {
  model: string;
  beam?: number;
  recorder: RecorderName;
  device?: string;
  input?: string;
  fast?: boolean;
  json?: boolean;
  partials?: boolean;
  partialInterval: number;
  saveDir?: string;
  vadStart: number;
  vadEnd: number;
  vadFloor: number;
  hangover: number;
  minSpeech: number;
  maxUtterance: number;
  padding: number;
}

function finiteNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

const HELP_AFTER = `
Output:
  terminal      the partial transcript rewrites the current line; the final one ends it
  pipe/file     one line per final transcript; --partials adds "[partial] TEXT" lines
  --json        one JSON object per line and event:
                  {"event":"ready",...}   audio is flowing (first chunk received)
                  {"event":"partial","utterance":1,"text":"...","start":0.8,"end":2.3}
                  {"event":"final","utterance":1,"text":"...","start":0.8,"end":3.1,
                   "confidence":0.9,"reason":"silence|max-length|stopped","wav":"..."}
                  {"event":"end","duration":12.3,"utterances":2,...}   stopped cleanly
                  {"event":"error","code":"recorder-died","message":"..."}  (exit code 1)
  times are seconds from the start of the audio; partials are greedy, finals use --beam.

Voice detection: frame energy (10 ms) against an adaptive noise floor (follows quiet
frames down fast, rises at most 3 dB/s, never below --vad-floor). An utterance starts
after --min-speech ms of frames --vad-start dB above the floor, ends after --hangover ms
below floor + --vad-end dB, and is cut at its quietest point (in its second half) once
it reaches --max-utterance seconds.

Ctrl-C stops: the utterance in progress is finalized, the recorder ended, exit code 0
(press it twice to quit at once).

Recorders (Debian/Ubuntu packages): sox and rec (sox; add libsox-fmt-pulse for
PulseAudio), arecord (alsa-utils). --device: sox and rec take it as AUDIODEV (an ALSA
device such as hw:1,0, or a PulseAudio source name), arecord as -D.

Examples:
  koe listen --model models/mine
  koe listen --recorder arecord --device plughw:1,0 --save-dir takes/
  koe listen --input audio-samples/sample1.wav --fast --json`;

export function registerListen(program: Command): void {
  const cmd = program
    .command('listen')
    .description('live dictation: transcribe speech from the microphone as you talk')
    .addOption(modelOption())
    .option('-b, --beam <n>', `beam width of final transcripts (1 = greedy; partials are always greedy) ${recommendedDefault(DEFAULT_DECODE_OPTIONS.beam)}`, positiveInt('--beam'));
  addWordLmOptions(cmd)
    .addOption(new Option('--recorder <name>', 'program that records (through node-record-lpcm16)').choices(RECORDERS).default('sox'))
    .option('--device <name>', 'capture device (default: the system default)')
    .option('-i, --input <file.wav>', 'stream a WAV file instead of the microphone, in real time')
    .option('--fast', 'with --input: as fast as possible (every partial is decoded)')
    .option('--json', 'one JSON object per line and event (see below)')
    .option('--partials', 'show partial transcripts (default: on a terminal and with --json)')
    .option('--no-partials', 'final transcripts only')
    .option('--partial-interval <ms>', 're-decode the utterance so far every this much audio', positiveNumber('--partial-interval'), 500)
    .option('--save-dir <dir>', 'save each utterance as a 16 kHz WAV file there')
    .option('--vad-start <dB>', 'start: frames this far above the noise floor', nonNegativeNumber('--vad-start'), DEFAULT_VAD_OPTIONS.startDb)
    .option('--vad-end <dB>', 'end: frames below floor + this count as silence', nonNegativeNumber('--vad-end'), DEFAULT_VAD_OPTIONS.endDb)
    .option('--vad-floor <dBFS>', 'lowest noise floor (digital silence is -100 dBFS)', finiteNumber('--vad-floor'), DEFAULT_VAD_OPTIONS.floorMinDb)
    .option('--hangover <ms>', 'silence that ends an utterance (shorter pauses do not)', nonNegativeNumber('--hangover'), DEFAULT_VAD_OPTIONS.hangoverMs)
    .option('--min-speech <ms>', 'loud audio needed to start an utterance', nonNegativeNumber('--min-speech'), DEFAULT_VAD_OPTIONS.minSpeechMs)
    .option('--max-utterance <s>', 'longest utterance; longer ones are cut at the quietest point', positiveNumber('--max-utterance'), DEFAULT_VAD_OPTIONS.maxUtteranceMs / 1000)
    .option('--padding <ms>', 'audio kept before and after the speech', nonNegativeNumber('--padding'), DEFAULT_VAD_OPTIONS.paddingMs)
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: ListenCliOptions, cmd: Command) => {
      const code = await runListen(opts, cmd);
      process.exitCode = code;
    });
}

function sessionStamp(d = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

async function runListen(opts: ListenCliOptions, cmd: Command): Promise<number> {
  if (opts.fast && !opts.input) fail('--fast needs --input FILE.wav');
  if (opts.input && opts.device) fail('--device and --input exclude each other');
  if (opts.vadEnd > opts.vadStart) fail(`--vad-end (${opts.vadEnd} dB) must not exceed --vad-start (${opts.vadStart} dB)`);
  const verbose = globalOptions(cmd).verbose === true;

  // Check the cheap things before loading the model.
  if (!opts.input) {
    try {
      checkRecorder(opts.recorder);
    } catch (err) {
      fail(errorMessage(err));
    }
  }
  const backend = await startBackend(cmd);
  const transcriber = await loadTranscriber(opts);
  // Finals decode with the word-LM flags given (partials are greedy: no LM).
  const wordLmOptions = wordLmOptionsFrom(opts);
  const recognizer: Recognizer = {
    features: (samples) => transcriber.features(samples),
    decode: (features, options) => transcriber.decode(features, { ...wordLmOptions, ...options }),
  };
  let source: AudioSource;
  if (opts.input) {
    try {
      source = await FileSource.open(opts.input, { realtime: !opts.fast });
    } catch (err) {
      if (err instanceof AudioError) fail(err.message);
      throw err;
    }
  } else {
    source = new MicrophoneSource({ recorder: opts.recorder, device: opts.device });
  }
  if (opts.saveDir) {
    try {
      mkdirSync(opts.saveDir, { recursive: true });
    } catch (err) {
      fail(`cannot create --save-dir ${opts.saveDir}: ${errorMessage(err)}`);
    }
  }

  const mode: PrintMode = opts.json ? 'json' : process.stdout.isTTY ? 'tty' : 'plain';
  const partials = opts.partials ?? mode !== 'plain';
  const printer = new EventPrinter({ mode, partials, write: (s) => process.stdout.write(s), columns: () => process.stdout.columns });
  const stamp = sessionStamp();
  const note = (message: string): void => {
    printer.clearLine();
    process.stderr.write(`koe listen: ${message}\n`);
  };

  const onEvent = (e: DictationEvent): void => {
    if (e.event === 'partial') return printer.partial(e);
    let wav: string | undefined;
    if (opts.saveDir) {
      wav = path.join(opts.saveDir, `${stamp}-${String(e.utterance).padStart(3, '0')}.wav`);
      try {
        writeFileSync(wav, encodeWav(e.samples, LISTEN_SAMPLE_RATE));
      } catch (err) {
        note(`cannot save ${wav}: ${errorMessage(err)}`);
        wav = undefined;
      }
    }
    printer.final(e, { wav });
  };
  const dictation = new Dictation(recognizer, onEvent, {
    // Finals: --beam, else the model's recommended beam; the other settings (and the decoder,
    // also for the greedy partials) come from the model's recommendation through decode().
    beam: transcriber.resolveDecodeOptions({ beam: opts.beam }).beam,
    partialIntervalMs: partials ? opts.partialInterval : 0,
    realtime: !opts.fast,
    vad: {
      startDb: opts.vadStart,
      endDb: opts.vadEnd,
      floorMinDb: opts.vadFloor,
      hangoverMs: opts.hangover,
      minSpeechMs: opts.minSpeech,
      maxUtteranceMs: opts.maxUtterance * 1000,
      paddingMs: opts.padding,
    },
  });

  let interrupted = 0;
  let failure: unknown;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) {
      printer.clearLine();
      process.exit(EXIT_INTERRUPTED);
    }
    if (process.stderr.isTTY) note('stopping (Ctrl-C again to quit at once)');
    source.stop();
  };
  // `koe listen | head -1`: a closed stdout ends the session quietly.
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') {
      source.stop();
      return;
    }
    failure ??= err;
    source.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);

  const announce = (): void => {
    const what = source instanceof MicrophoneSource ? `listening (${source.description})` : `streaming ${(source as FileSource).file}${opts.fast ? ' (fast)' : ' in real time'}`;
    if (process.stderr.isTTY || verbose) note(`${what}; ${source.kind === 'microphone' ? 'speak, ' : ''}Ctrl-C to stop`);
    printer.ready({
      source: source.kind,
      recorder: source instanceof MicrophoneSource ? opts.recorder : undefined,
      device: opts.device,
      pid: source instanceof MicrophoneSource ? source.pid : undefined,
      file: opts.input,
      model: opts.model,
      backend: backend.name,
    });
  };

  let ready = false;
  const sourceError = await new Promise<ListenError | undefined>((resolve) => {
    try {
      source.start({
        data: (chunk) => {
          if (failure !== undefined) return;
          if (!ready) {
            ready = true;
            announce();
          }
          try {
            dictation.write(chunk);
          } catch (err) {
            failure = err;
            source.stop();
          }
        },
        end: (err) => resolve(err),
        warning: (m) => note(m),
      });
    } catch (err) {
      if (err instanceof ListenError) resolve(err);
      else {
        failure = err;
        resolve(undefined);
      }
    }
  });
  process.off('SIGTERM', onSignal);

  // Whatever was heard is transcribed, also when the recorder died.
  if (failure === undefined) {
    try {
      dictation.end();
    } catch (err) {
      failure = err;
    }
  }
  process.off('SIGINT', onSignal);
  const s = dictation.stats;
  if (sourceError) printer.error(sourceError.message, sourceError.code);
  else if (failure !== undefined) printer.error(errorMessage(failure));
  else printer.end({ duration: s.duration, utterances: s.utterances, partials: s.partials, skippedPartials: s.skippedPartials });
  if (verbose) note(`${s.duration.toFixed(1)} s of audio, ${s.utterances} utterance(s), ${s.partials} partial(s), ${s.skippedPartials} skipped to keep up`);
  transcriber.dispose();
  process.stdout.off('error', onStdoutError);
  if (sourceError) {
    process.stderr.write(`koe: ${sourceError.message}\n`);
    return EXIT_FAILURE;
  }
  if (failure !== undefined) {
    process.stderr.write(`koe: ${errorMessage(failure)}\n`);
    return EXIT_FAILURE;
  }
  return 0;
}
