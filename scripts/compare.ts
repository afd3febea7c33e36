/**
 * koe against a conventional recognizer (`npm run compare`, after `npx tsc -p tsconfig.json`).
 *
 * Scores pocketsphinx (CMU Sphinx 0.8, US English acoustic model + trigram LM, batch mode) and koe
 * (in-process: greedy, beam search, and beam search with and without the model directory's
 * character and word LMs) on the same manifest, and prints one markdown table:
 *
 *   | system | WER | CER | S | D | I | RTF | utterances |
 *
 * then the audio scored, how each RTF was measured, the load average and cores of the machine,
 * and, as the last line, every figure as one JSON object (`--json`: only that line).
 *
 * Both sides are scored the same way: references and hypotheses go through
 * `normalizeTranscript`, errors through `ErrorAccumulator` (koe's via `evaluate()`).
 * pocketsphinx's fillers (`<s>`, `</s>`, `<sil>`, `[noise]`, `++noise++`) and alternate-pronunciation
 * marks (`word(2)`) are stripped first.
 *
 * RTF: pocketsphinx is timed by wall clock around the whole `pocketsphinx_batch` process (model
 * loading included, ~1 s); its own decode-only wall and CPU figures from its log are printed too
 * and go into the JSON. koe's RTF is `evaluate()`'s: feature extraction + decoding, model loading
 * and one untimed warm-up decode of the first utterance excluded. Everything runs one system after another, never concurrently.
 *
 * pocketsphinx needs 16 kHz mono 16-bit PCM WAVs with a plain 44-byte header; such files are
 * linked into a temporary folder as they are, anything else is converted there with sox first
 * (not timed). Without a koe model (no model.json in --model) the pocketsphinx row is still printed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';

import { positiveInt } from '../src/cli/common.js';
import { evaluate, manifestEvalItems, type EvalItem, type EvalReport } from '../src/eval/evaluate.js';
import { readManifest, writeManifest, type ManifestEntry } from '../src/io/manifest.js';
import { ErrorAccumulator } from '../src/metrics/wer.js';
import { normalizeTranscript } from '../src/text/normalize.js';
import { Progress } from '../src/train/progress.js';
import type { Transcriber } from '../src/transcriber.js';
import { packageRoot } from '../src/util/package-root.js';
import { definedOnly } from '../src/util/defined.js';
import { readWavHeader, type WavHeader } from './corpus/wav.js';
import { which } from './corpus/voices.js';

export const DEFAULT_MANIFEST = 'data/corpus/test.jsonl';
export const DEFAULT_MODEL = 'models/default';
export const DEFAULT_BEAM = 8;
export const DEFAULT_SPHINX_MODEL = '/usr/share/pocketsphinx/model/en-us';
/** Utterances per greedy batch (as `koe eval`). */
const GREEDY_BATCH = 16;

// ---------------------------------------------------------------------------------------------
// Results and the report
// ---------------------------------------------------------------------------------------------

/** One system's scores: the summary figures of `evaluate()`'s report, plus what the comparison adds. */
export type SystemResult = Omit<EvalReport, 'utterances' | 'skipped'> & {
  system: string;
  /** Wall-clock seconds the RTF is based on. */
  seconds: number;
  /** System-specific figures (pocketsphinx: decode-only RTFs from its log, start-up seconds). */
  details?: Record<string, number | string | null>;
  /** Per utterance, for --hyp. */
  utterances: UtteranceHyp[];
};

export interface UtteranceHyp {
  audioPath: string;
  ref: string;
  hyp: string;
  /** pocketsphinx: its hypothesis before clean-up. */
  raw?: string;
}

/** `42.0 s` below two minutes, else `3.3 min`. */
function audioLength(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** A markdown table: the first column left-aligned, the others right-aligned, all rows equally wide. */
export function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** The markdown table: system | WER | CER | S | D | I | RTF | utterances. */
export function formatTable(rows: readonly SystemResult[]): string {
  const header = ['system', 'WER', 'CER', 'S', 'D', 'I', 'RTF', 'utterances'];
  return markdownTable(
    header,
    rows.map((r) => [r.system, pct(r.wer), pct(r.cer), String(r.sub), String(r.del), String(r.ins), r.rtf.toFixed(3), String(r.utts)]),
  );
}

/** WER and CER of each system on each voice's utterances. */
export type ByVoice = Record<string, Record<string, { wer: number; cer: number; utts: number }>>;

/** Score each system per voice (`voiceOf`: audio path to voice; utterances without one are left out). */
export function scoreByVoice(rows: readonly SystemResult[], voiceOf: ReadonlyMap<string, string>): ByVoice {
  const out: ByVoice = {};
  for (const r of rows) {
    const accs = new Map<string, ErrorAccumulator>();
    for (const u of r.utterances) {
      const voice = voiceOf.get(u.audioPath);
      if (voice === undefined) continue;
      let acc = accs.get(voice);
      if (!acc) accs.set(voice, (acc = new ErrorAccumulator()));
      acc.add(u.ref, u.hyp);
    }
    out[r.system] = Object.fromEntries([...accs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([v, acc]) => [v, { wer: acc.wer, cer: acc.cer, utts: acc.utts }]));
  }
  return out;
}

/** The per-voice markdown table: system | <voice> WER / CER | ... */
export function formatByVoice(byVoice: ByVoice): string {
  const voices = [...new Set(Object.values(byVoice).flatMap((v) => Object.keys(v)))].sort();
  const header = ['system', ...voices.map((v) => `${v} WER / CER`)];
  const body = Object.entries(byVoice).map(([system, v]) => [system, ...voices.map((voice) => (v[voice] ? `${pct(v[voice].wer)} / ${pct(v[voice].cer)}` : '-'))]);
  return markdownTable(header, body);
}

function fromAccumulator(system: string, acc: ErrorAccumulator, seconds: number, audioSeconds: number, utterances: UtteranceHyp[]): SystemResult {
  return { system, ...acc.summary(), rtf: audioSeconds > 0 ? seconds / audioSeconds : 0, audioSeconds, seconds, utterances };
}

function fromReport(system: string, r: EvalReport): SystemResult {
  return {
    system,
    wer: r.wer,
    cer: r.cer,
    sub: r.sub,
    del: r.del,
    ins: r.ins,
    words: r.words,
    utts: r.utts,
    rtf: r.rtf,
    audioSeconds: r.audioSeconds,
    seconds: r.rtf * r.audioSeconds,
    utterances: r.utterances.map((u) => ({ audioPath: u.audioPath, ref: u.ref, hyp: u.hyp })),
  };
}

function jsonResult(r: SystemResult): Record<string, unknown> {
  return {
    system: r.system,
    wer: round(r.wer, 6),
    cer: round(r.cer, 6),
    sub: r.sub,
    del: r.del,
    ins: r.ins,
    words: r.words,
    utts: r.utts,
    rtf: round(r.rtf, 5),
    audioSeconds: round(r.audioSeconds, 3),
    seconds: round(r.seconds, 3),
    ...(r.details ? { details: r.details } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// pocketsphinx
// ---------------------------------------------------------------------------------------------

/**
 * Parse a pocketsphinx hyp file: one line per utterance, `text (uttid score)` (text may be empty:
 * ` (uttid score)`). Returns uttid -> raw text.
 */
export function parseHypFile(content: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of content.split('\n')) {
    const line = raw.replace(/\r$/, '').trimEnd();
    if (line.trim() === '') continue;
    const m = /^(.*?)\s*\(([^\s()]+)(?:\s+[^()]*)?\)$/.exec(line);
    if (!m) continue;
    out.set(m[2] as string, m[1] as string);
  }
  return out;
}

/** Filler or silence tokens of Sphinx dictionaries: `<s>`, `</s>`, `<sil>`, `[noise]`, `++noise++`. */
const SPHINX_FILLER = /^(?:<[^>]*>|\[[^\]]*\]|\+\+[^+]*\+\+)$/;

/** A pocketsphinx hypothesis in koe's transcript form: fillers and `(2)` marks dropped, then normalized. */
export function cleanSphinxText(text: string): string {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '' && !SPHINX_FILLER.test(w))
    .map((w) => w.replace(/\(\d+\)$/, ''));
  return normalizeTranscript(words.join(' '));
}

/** Decode-only totals from a pocketsphinx_batch log (`TOTAL x seconds speech, y seconds CPU, z seconds wall`). */
export function parseSphinxTotals(log: string): { speech: number; cpu: number; wall: number } | null {
  const m = /TOTAL\s+([\d.]+)\s+seconds speech,\s+([\d.]+)\s+seconds CPU,\s+([\d.]+)\s+seconds wall/.exec(log);
  return m ? { speech: Number(m[1]), cpu: Number(m[2]), wall: Number(m[3]) } : null;
}

/** 16 kHz mono 16-bit PCM with the sample data at byte 44, what `-adcin yes -adchdr 44` reads. */
function sphinxReady(h: WavHeader): boolean {
  return h.format === 1 && h.channels === 1 && h.bitsPerSample === 16 && h.sampleRate === 16000 && h.dataOffset === 44;
}

export type SphinxOutcome = { ok: true; result: SystemResult; notes: string[] } | { ok: false; reason: string };

/** The running pocketsphinx child and temporary folder, for clean-up on Ctrl-C. */
const live: { child?: ChildProcess; tmp?: string } = {};

function runProcess(cmd: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      live.child = undefined;
      resolve({ code, signal, stderr });
    });
  });
}

export async function runPocketsphinx(
  entries: readonly ManifestEntry[],
  refs: readonly string[],
  sphinxModel: string,
  log: (s: string) => void,
): Promise<SphinxOutcome> {
  const binary = which('pocketsphinx_batch');
  if (!binary) return { ok: false, reason: 'pocketsphinx_batch not found (install: apt-get install pocketsphinx pocketsphinx-en-us, or scripts/setup-tts.sh)' };
  const hmm = path.join(sphinxModel, 'en-us');
  const lm = path.join(sphinxModel, 'en-us.lm.bin');
  const dict = path.join(sphinxModel, 'cmudict-en-us.dict');
  const absent = [hmm, lm, dict].filter((p) => !existsSync(p));
  if (absent.length) return { ok: false, reason: `pocketsphinx model incomplete, missing ${absent.join(', ')} (install pocketsphinx-en-us)` };

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'koe-compare-'));
  live.tmp = tmp;
  try {
    const ids: string[] = [];
    let audioSeconds = 0;
    let converted = 0;
    const hasSox = which('sox') !== null;
    for (let i = 0; i < entries.length; i++) {
      const src = (entries[i] as ManifestEntry).audioFilepath;
      const id = `u${String(i).padStart(6, '0')}`;
      const dst = path.join(tmp, `${id}.wav`);
      let header: WavHeader | null = null;
      try {
        header = await readWavHeader(src);
      } catch {
        header = null; // not a WAV sox may still read; or unreadable (sox says so)
      }
      if (header && sphinxReady(header)) {
        await symlink(path.resolve(src), dst);
      } else {
        if (!hasSox) return { ok: false, reason: `${src} is not 16 kHz mono 16-bit PCM and sox is not installed to convert it` };
        const r = spawnSync('sox', [src, '-t', 'wav', '-e', 'signed-integer', '-b', '16', '-c', '1', '-r', '16000', dst], { encoding: 'utf8' });
        if (r.status !== 0) return { ok: false, reason: `sox could not convert ${src}: ${(r.stderr || r.error?.message || '').trim()}` };
        header = await readWavHeader(dst);
        if (!sphinxReady(header)) return { ok: false, reason: `sox output for ${src} does not have a 44-byte header` };
        converted++;
      }
      audioSeconds += header.duration;
      ids.push(id);
    }
    const ctl = path.join(tmp, 'ids.ctl');
    const hypFile = path.join(tmp, 'out.hyp');
    const logFile = path.join(tmp, 'pocketsphinx.log');
    await writeFile(ctl, ids.join('\n') + '\n');
    const args = [
      '-adcin', 'yes', '-adchdr', '44', '-cepdir', tmp, '-cepext', '.wav', '-ctl', ctl,
      '-hmm', hmm, '-lm', lm, '-dict', dict, '-hyp', hypFile, '-logfn', logFile,
    ];
    log(`pocketsphinx: decoding ${ids.length} utterances (${audioLength(audioSeconds)} of audio)${converted ? `, ${converted} converted with sox` : ''}\n`);
    const t0 = performance.now();
    const run = await runProcess(binary, args);
    const seconds = (performance.now() - t0) / 1000;
    const logText = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
    if (run.code !== 0) {
      const tail = (logText || run.stderr).trim().split('\n').slice(-8).join('\n');
      return { ok: false, reason: `pocketsphinx_batch failed (${run.signal ?? `exit ${run.code}`}):\n${tail}` };
    }
    const hyps = existsSync(hypFile) ? parseHypFile(await readFile(hypFile, 'utf8')) : new Map<string, string>();
    const acc = new ErrorAccumulator();
    const utterances: UtteranceHyp[] = [];
    let missing = 0;
    ids.forEach((id, i) => {
      const raw = hyps.get(id);
      if (raw === undefined) missing++;
      const hyp = cleanSphinxText(raw ?? '');
      const ref = refs[i] as string;
      acc.add(ref, hyp);
      utterances.push({ audioPath: (entries[i] as ManifestEntry).audioFilepath, ref, hyp, raw: raw ?? '' });
    });
    const result = fromAccumulator('pocketsphinx', acc, seconds, audioSeconds, utterances);
    const totals = parseSphinxTotals(logText);
    result.details = {
      decodeWallRtf: totals && totals.speech > 0 ? round(totals.wall / totals.speech, 5) : null,
      decodeCpuRtf: totals && totals.speech > 0 ? round(totals.cpu / totals.speech, 5) : null,
      startupSeconds: totals ? round(Math.max(0, seconds - totals.wall), 3) : null,
      missingHyps: missing,
      convertedWithSox: converted,
    };
    const notes: string[] = [];
    if (converted > 0) notes.push(`${converted} files were converted to 16 kHz mono 16-bit with sox for pocketsphinx (not timed)`);
    if (missing > 0) notes.push(`pocketsphinx gave no hypothesis for ${missing} of ${ids.length} utterances (scored as empty)`);
    return { ok: true, result, notes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    live.tmp = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// koe
// ---------------------------------------------------------------------------------------------

interface KoeRun {
  system: string;
  greedy: boolean;
  lmWeight?: number;
  wordLmWeight?: number;
  ctcWeight?: number;
}

/** Which scorers the model directory has for beam search. */
export interface BeamScorersPresent {
  /** A character LM (lm.bin). */
  lm: boolean;
  /** A word LM (word-lm.bin). */
  wordLm: boolean;
  /** A CTC head. */
  ctc: boolean;
}

/**
 * Beam-search rows: the defaults first (the LMs and the CTC prefix score where the model has
 * them), then the LMs (character and word together) or CTC turned off, then both off (attention
 * alone).
 */
export function beamRuns(beam: number, has: BeamScorersPresent, defaults: { lmWeight: number; wordLmWeight: number; ctcWeight: number }): KoeRun[] {
  const hasLms = has.lm || has.wordLm;
  const lmParts = [...(has.lm ? [`LM ${defaults.lmWeight}`] : []), ...(has.wordLm ? [`word LM ${defaults.wordLmWeight}`] : [])];
  const runs: KoeRun[] = [];
  for (const lms of hasLms ? [true, false] : [false]) {
    for (const ctc of has.ctc ? [true, false] : [false]) {
      const parts = [...(lms ? lmParts : []), ...(ctc ? [`CTC ${defaults.ctcWeight}`] : [])];
      runs.push({
        system: `koe beam ${beam}${parts.length ? ` + ${parts.join(' + ')}` : hasLms || has.ctc ? ' (attention only)' : ''}`,
        greedy: false,
        ...(has.lm && !lms ? { lmWeight: 0 } : {}),
        ...(has.wordLm && !lms ? { wordLmWeight: 0 } : {}),
        ...(has.ctc && !ctc ? { ctcWeight: 0 } : {}),
      });
    }
  }
  return runs;
}

async function runKoe(
  entries: readonly ManifestEntry[],
  refs: readonly string[],
  modelDir: string,
  beam: number,
  backend: string | undefined,
  quiet: boolean,
): Promise<{ results: SystemResult[]; backend: string; notes: string[] }> {
  // Loaded only here, so that the no-model path does not pay for starting TensorFlow.js.
  const { Transcriber } = await import('../src/transcriber.js');
  const transcriber = await Transcriber.load(modelDir, { backend });
  const notes: string[] = [];
  try {
    const items = manifestEvalItems(entries, transcriber);
    const runs: KoeRun[] = [{ system: 'koe greedy', greedy: true }];
    if (beam > 1) {
      // The LM and CTC weights in effect: the model's recommended ones, else the global defaults.
      const has = { lm: transcriber.languageModel !== undefined, wordLm: transcriber.wordLanguageModel !== undefined, ctc: transcriber.loaded.model.config.ctcLayer !== undefined };
      runs.push(...beamRuns(beam, has, transcriber.resolveDecodeOptions()));
    } else {
      notes.push('--beam 1: beam search rows left out (beam 1 is greedy decoding)');
    }
    // One untimed pass over the first utterance, so that the first timed row does not also pay
    // for kernel compilation and JIT warm-up.
    const first = await (items[0] as EvalItem).load();
    transcriber.decodeBatch([first.features], 'attention');
    if (beam > 1) transcriber.decode(first.features, { decoder: 'attention', beam });
    const results: SystemResult[] = [];
    for (const run of runs) {
      const bar = new Progress(items.length, run.system, [], quiet);
      bar.start();
      // The rows are attention decoding whatever decoder the model recommends.
      const { lmWeight, wordLmWeight, ctcWeight } = run;
      const options = { decoder: 'attention' as const, beam, ...definedOnly({ lmWeight, wordLmWeight, ctcWeight }) };
      const report = await evaluate(
        items,
        (feats) => (run.greedy ? transcriber.decodeBatch(feats, 'attention') : feats.map((f) => transcriber.decode(f, options)[0]!)),
        { batchSize: run.greedy ? GREEDY_BATCH : 1, onProgress: (done) => bar.update(done) },
      );
      bar.stop();
      results.push(fromReport(run.system, report));
    }
    return { results, backend: transcriber.backend.name, notes };
  } finally {
    transcriber.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

interface CompareOptions {
  manifest: string;
  model: string;
  beam: number;
  limit?: number;
  json?: boolean;
  backend?: string;
  sphinxModel: string;
  hyp?: string;
}

export function makeProgram(): Command {
  return new Command('compare')
    .description('koe against pocketsphinx on the same manifest: WER, CER, S/D/I, real-time factor')
    .option('--manifest <file>', 'JSON lines manifest (relative default: against the package root)', DEFAULT_MANIFEST)
    .option('--model <dir>', 'koe model directory (relative default: against the package root)', DEFAULT_MODEL)
    .option('--beam <n>', 'beam width of the beam-search rows (1: greedy only)', positiveInt('--beam'), DEFAULT_BEAM)
    .option('--limit <n>', 'score only the first n utterances (default: all)', positiveInt('--limit'))
    .option('--json', 'print only the final JSON object with every figure')
    .option('--backend <name>', 'tfjs backend for koe: auto, tensorflow, wasm, cpu (default: KOE_BACKEND, else auto)')
    .option('--hyp <file>', 'write every hypothesis as JSON lines (system, audio_filepath, text, ref; raw for pocketsphinx)')
    .option('--sphinx-model <dir>', 'pocketsphinx model folder (en-us/, en-us.lm.bin, cmudict-en-us.dict)', DEFAULT_SPHINX_MODEL)
    .addHelpText(
      'after',
      [
        '',
        'Rows: pocketsphinx, koe greedy, koe beam N with the defaults (the LMs in lm.bin and word-lm.bin and the CTC prefix score, where the model has them), then with the LMs (both together) or CTC off, then both off.',
        'Without a koe model (no model.json) only the pocketsphinx row is printed.',
        '',
        'Example:',
        '  npm run compare -- --manifest data/trial/test.jsonl --limit 50',
      ].join('\n'),
    )
    .showHelpAfterError()
    .allowExcessArguments(false);
}

function loadLine(l: number[]): string {
  return l.map((x) => x.toFixed(2)).join(' / ');
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = makeProgram();
  program.parse(argv);
  const opts = program.opts<CompareOptions>();
  const root = packageRoot();
  const resolveOpt = (name: 'manifest' | 'model', value: string): string =>
    program.getOptionValueSource(name) === 'default' ? path.resolve(root, value) : path.resolve(value);
  const manifest = resolveOpt('manifest', opts.manifest);
  const modelDir = resolveOpt('model', opts.model);
  const out = (s: string): void => {
    if (!opts.json) process.stdout.write(s);
  };
  const err = (s: string): void => {
    process.stderr.write(s);
  };

  let entries: ManifestEntry[];
  try {
    entries = await readManifest(manifest);
  } catch (e) {
    const hint = program.getOptionValueSource('manifest') === 'default' ? ' (build it with `npm run corpus`, or pass --manifest)' : '';
    err(`compare: cannot read manifest ${manifest}: ${(e as Error).message}${hint}\n`);
    return 1;
  }
  if (opts.limit !== undefined) entries = entries.slice(0, opts.limit);
  if (entries.length === 0) {
    err(`compare: ${manifest} has no utterances\n`);
    return 1;
  }
  const refs = entries.map((e) => normalizeTranscript(e.text));
  const loadStart = os.loadavg();
  const cpus = os.cpus();
  const cores = os.availableParallelism();

  const rows: SystemResult[] = [];
  const notes: string[] = [];
  const skipped: Record<string, string> = {};

  // pocketsphinx first, then koe: never both at once.
  const sphinx = await runPocketsphinx(entries, refs, opts.sphinxModel, opts.json ? () => {} : err);
  if (sphinx.ok) {
    rows.push(sphinx.result);
    notes.push(...sphinx.notes);
  } else {
    skipped['pocketsphinx'] = sphinx.reason;
  }

  let backend: string | null = null;
  if (!existsSync(path.join(modelDir, 'model.json'))) {
    skipped['koe'] = `no koe model: ${modelDir} has no model.json (train one with \`koe train\`, then pass --model DIR)`;
  } else {
    try {
      const koe = await runKoe(entries, refs, modelDir, opts.beam, opts.backend, opts.json === true);
      rows.push(...koe.results);
      notes.push(...koe.notes);
      backend = koe.backend;
    } catch (e) {
      skipped['koe'] = `koe failed: ${(e as Error).message}`;
    }
  }
  const loadEnd = os.loadavg();
  if (opts.hyp) {
    await writeManifest(
      opts.hyp,
      rows.flatMap((r) =>
        r.utterances.map((u) => ({ audio_filepath: u.audioPath, text: u.hyp, ref: u.ref, system: r.system, ...(u.raw !== undefined ? { raw: u.raw } : {}) })),
      ),
    );
  }

  const voiceOf = new Map(entries.flatMap((e) => (typeof e.raw['voice'] === 'string' ? [[e.audioFilepath, e.raw['voice']] as const] : [])));
  const byVoice = new Set(voiceOf.values()).size > 1 ? scoreByVoice(rows, voiceOf) : undefined;
  const audioSeconds = rows[0]?.audioSeconds ?? entries.reduce((s, e) => s + (e.duration ?? 0), 0);
  for (const [system, reason] of Object.entries(skipped)) out(`${system}: ${reason}\n`);
  if (rows.length > 0) {
    out('\n' + formatTable(rows) + '\n\n');
    out(`manifest: ${manifest} (${entries.length} utterances, ${audioLength(audioSeconds)} of audio)\n`);
    if (byVoice) out(`\nBy voice (the manifest's \`voice\` field):\n\n${formatByVoice(byVoice)}\n\n`);
    if (sphinx.ok) {
      const d = sphinx.result.details ?? {};
      const fmt = (x: unknown): string => (typeof x === 'number' ? x.toFixed(3) : '?');
      out(
        `pocketsphinx RTF: wall clock of the whole pocketsphinx_batch run (model loading included, ~${fmt(d['startupSeconds'])} s); ` +
          `its log's decode-only RTF: wall ${fmt(d['decodeWallRtf'])}, CPU ${fmt(d['decodeCpuRtf'])}\n`,
      );
    }
    if (backend) out(`koe RTF: features + decoding, model loading and one warm-up utterance excluded; model ${modelDir}, backend ${backend}\n`);
  }
  for (const n of notes) out(`note: ${n}\n`);
  out(`load average (1/5/15 min): ${loadLine(loadStart)} at start, ${loadLine(loadEnd)} at end; ${cores} cores${cpus[0] ? ` (${cpus[0].model.trim()})` : ''}\n`);

  const summary = {
    manifest,
    model: modelDir,
    utts: entries.length,
    audioSeconds: round(audioSeconds, 3),
    beam: opts.beam,
    backend,
    cores,
    cpu: cpus[0]?.model.trim() ?? null,
    loadavgStart: loadStart.map((x) => round(x, 2)),
    loadavgEnd: loadEnd.map((x) => round(x, 2)),
    systems: rows.map(jsonResult),
    ...(byVoice ? { byVoice } : {}),
    skipped,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  return rows.length > 0 ? 0 : 1;
}

function cleanUpAndExit(): void {
  live.child?.kill('SIGTERM');
  if (live.tmp) rmSync(live.tmp, { recursive: true, force: true });
  process.exit(130);
}

const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs && import.meta.url === pathToFileURL(invokedAs).href) {
  process.on('SIGINT', cleanUpAndExit);
  process.on('SIGTERM', cleanUpAndExit);
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`compare: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
