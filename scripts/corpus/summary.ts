/** Corpus summary: hours per split and voice, sentences, words, vocabulary; JSON and a printed table. */
import type { ManifestRecord } from '../../src/io/manifest.js';
import { SPLITS, type Split } from './plan.js';

export interface SplitSummary {
  utterances: number;
  /** Planned utterances (output files) that are not there (failed or not yet made). */
  missing: number;
  seconds: number;
  hours: number;
  meanDuration: number;
  /** Distinct sentences (transcripts). */
  sentences: number;
  /** Word tokens over all utterances. */
  words: number;
  /** Distinct words. */
  vocabulary: number;
  voices: Record<string, { utterances: number; hours: number }>;
  engines: Record<string, { utterances: number; hours: number }>;
  sources: Record<string, number>;
  speeds: Record<string, number>;
  noisy: number;
  telephone: number;
}

export interface RunStats {
  workers: number;
  wallSeconds: number;
  /** Output files made in this run. */
  made: number;
  /** Utterances (jobs) that failed in this run. */
  failed: number;
  audioSeconds: number;
  utterancesPerMinute: number;
  audioHoursPerWallHour: number;
}

export interface CorpusSummary {
  out: string;
  generated: string;
  splits: Record<Split, SplitSummary>;
  total: { utterances: number; hours: number; vocabulary: number };
  /** Word tokens of valid/test not in the train vocabulary. */
  oovRate: { valid: number; test: number };
  /** Sentences shared between splits (0 by construction). */
  sharedSentences: { trainValid: number; trainTest: number; validTest: number };
  /** Voices of the test split that also occur in train or valid (none by construction). */
  testVoicesSeenInTraining: string[];
  text: Record<string, { raw: number; clean: number; unique: number }> | undefined;
  run: RunStats | undefined;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function sortKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function bump<K extends string>(m: Record<K, { utterances: number; hours: number }>, k: K, sec: number): void {
  const e = (m[k] ??= { utterances: 0, hours: 0 });
  e.utterances++;
  e.hours += sec / 3600;
}

export function summarize(
  out: string,
  manifests: Record<Split, ManifestRecord[]>,
  planned: Record<Split, number>,
  text: CorpusSummary['text'],
  run: RunStats | undefined,
): CorpusSummary {
  const splits = {} as Record<Split, SplitSummary>;
  const vocab = {} as Record<Split, Set<string>>;
  const sentences = {} as Record<Split, Set<string>>;
  const voices = {} as Record<Split, Set<string>>;
  for (const split of SPLITS) {
    const entries = manifests[split];
    const s: SplitSummary = {
      utterances: entries.length,
      missing: Math.max(0, planned[split] - entries.length),
      seconds: 0,
      hours: 0,
      meanDuration: 0,
      sentences: 0,
      words: 0,
      vocabulary: 0,
      voices: {},
      engines: {},
      sources: {},
      speeds: {},
      noisy: 0,
      telephone: 0,
    };
    vocab[split] = new Set();
    sentences[split] = new Set();
    voices[split] = new Set();
    for (const e of entries) {
      const sec = e.duration ?? 0;
      s.seconds += sec;
      sentences[split].add(e.text);
      const words = e.text.split(' ');
      s.words += words.length;
      for (const w of words) vocab[split].add(w);
      const voice = String(e['voice']);
      voices[split].add(voice);
      bump(s.voices, voice, sec);
      bump(s.engines, String(e['engine']), sec);
      const src = String(e['source']);
      s.sources[src] = (s.sources[src] ?? 0) + 1;
      const sp = String(e['speed']);
      s.speeds[sp] = (s.speeds[sp] ?? 0) + 1;
      if (e['noise']) s.noisy++;
      if (e['telephone']) s.telephone++;
    }
    s.hours = r3(s.seconds / 3600);
    s.seconds = r3(s.seconds);
    s.meanDuration = entries.length ? r3(s.seconds / entries.length) : 0;
    s.sentences = sentences[split].size;
    s.vocabulary = vocab[split].size;
    for (const m of [s.voices, s.engines]) for (const v of Object.values(m)) v.hours = r3(v.hours);
    s.voices = sortKeys(s.voices);
    s.engines = sortKeys(s.engines);
    s.sources = sortKeys(s.sources);
    s.speeds = sortKeys(s.speeds);
    splits[split] = s;
  }
  const oov = (split: Split): number => {
    let n = 0;
    let oovN = 0;
    for (const e of manifests[split]) {
      for (const w of e.text.split(' ')) {
        n++;
        if (!vocab.train.has(w)) oovN++;
      }
    }
    return n ? r3(oovN / n) : 0;
  };
  const shared = (a: Split, b: Split): number => [...sentences[a]].filter((t) => sentences[b].has(t)).length;
  const all = new Set([...vocab.train, ...vocab.valid, ...vocab.test]);
  return {
    out,
    generated: new Date().toISOString(),
    splits,
    total: {
      utterances: SPLITS.reduce((a, s) => a + splits[s].utterances, 0),
      hours: r3(SPLITS.reduce((a, s) => a + splits[s].seconds, 0) / 3600),
      vocabulary: all.size,
    },
    oovRate: { valid: oov('valid'), test: oov('test') },
    sharedSentences: { trainValid: shared('train', 'valid'), trainTest: shared('train', 'test'), validTest: shared('valid', 'test') },
    testVoicesSeenInTraining: [...voices.test].filter((v) => voices.train.has(v) || voices.valid.has(v)),
    text,
    run,
  };
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}

export function formatSummary(s: CorpusSummary): string {
  const lines: string[] = [`corpus: ${s.out}`, ''];
  const rows = [['split', 'utts', 'missing', 'hours', 'mean s', 'sentences', 'words', 'vocab', 'noisy', 'phone']];
  for (const split of SPLITS) {
    const x = s.splits[split];
    rows.push([split, `${x.utterances}`, `${x.missing}`, x.hours.toFixed(2), x.meanDuration.toFixed(2), `${x.sentences}`, `${x.words}`, `${x.vocabulary}`, `${x.noisy}`, `${x.telephone}`]);
  }
  rows.push(['total', `${s.total.utterances}`, '', s.total.hours.toFixed(2), '', '', '', `${s.total.vocabulary}`, '', '']);
  lines.push(table(rows), '');
  const voiceIds = [...new Set(SPLITS.flatMap((sp) => Object.keys(s.splits[sp].voices)))].sort();
  const vrows = [['voice', 'train h', 'valid h', 'test h', 'utts']];
  for (const v of voiceIds) {
    const cell = (sp: Split): string => (s.splits[sp].voices[v] ? (s.splits[sp].voices[v]?.hours ?? 0).toFixed(3) : '-');
    const n = SPLITS.reduce((a, sp) => a + (s.splits[sp].voices[v]?.utterances ?? 0), 0);
    vrows.push([v, cell('train'), cell('valid'), cell('test'), `${n}`]);
  }
  lines.push(table(vrows), '');
  lines.push(
    `OOV word rate vs train vocabulary: valid ${(100 * s.oovRate.valid).toFixed(1)}%, test ${(100 * s.oovRate.test).toFixed(1)}%; ` +
      `sentences shared between splits: ${s.sharedSentences.trainValid + s.sharedSentences.trainTest + s.sharedSentences.validTest}; ` +
      `held-out voices seen in training: ${s.testVoicesSeenInTraining.length ? s.testVoicesSeenInTraining.join(', ') : 'none'}`,
  );
  if (s.run && s.run.made > 0) {
    const r = s.run;
    lines.push(
      `this run: ${r.made} files (${(r.audioSeconds / 3600).toFixed(3)} h of audio) in ${(r.wallSeconds / 60).toFixed(1)} min on ${r.workers} workers: ` +
        `${r.utterancesPerMinute.toFixed(1)} utterances/min, ${r.audioHoursPerWallHour.toFixed(1)} audio-hours per wall-hour` +
        (r.failed ? `; ${r.failed} failed (see failures.jsonl)` : ''),
    );
  } else if (s.run) {
    lines.push(`this run: nothing to synthesize${s.run.failed ? `; ${s.run.failed} failed (see failures.jsonl)` : ''}`);
  }
  return lines.join('\n');
}
