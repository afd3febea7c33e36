/**
 * NeMo-convention manifests: JSON Lines, one utterance per line,
 * `{"audio_filepath": "...", "text": "...", "duration": 3.2}` (other keys allowed and preserved in `raw`).
 *
 * Reading: relative `audio_filepath` values resolve against the folder holding the manifest;
 * blank (whitespace-only) lines are skipped; a UTF-8 byte order mark is ignored; `\r\n` line ends
 * are accepted. Every problem is reported as a {@link ManifestError} naming `file:line`.
 * `text` is returned exactly as written: it is not normalized or checked against the alphabet here
 * (use `isNormalizedText` / `findUnsupportedChars` from src/text/normalize.ts).
 *
 * Writing: {@link writeManifest} writes to a temporary file in the same folder and renames it over
 * the target, so readers never see a half-written manifest.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic.js';

export interface ManifestEntry {
  /** Absolute path to the audio file, resolved against the manifest's folder if it was relative. */
  audioFilepath: string;
  /** Transcript as written in the manifest. */
  text: string;
  /** Duration in seconds, when the manifest gives one. */
  duration?: number;
  /** The parsed JSON object of the line, unchanged (including `audio_filepath` as written). */
  raw: Record<string, unknown>;
}

/** A manifest line to write. Extra keys are written after the standard ones, in their own order. */
export interface ManifestRecord {
  audio_filepath: string;
  text: string;
  duration?: number;
  [key: string]: unknown;
}

/** A malformed manifest line. `message` starts with `file:line: `. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ManifestError';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * Parse manifest content. `manifestPath` is used to resolve relative audio paths (against its
 * folder, itself resolved against the current directory) and to name the file in errors.
 */
export function parseManifest(content: string, manifestPath: string): ManifestEntry[] {
  const baseDir = path.dirname(path.resolve(manifestPath));
  const lines = content.replace(/^\uFEFF/, '').split('\n');
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '') continue;
    const fail = (reason: string): never => {
      throw new ManifestError(manifestPath, i + 1, reason);
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      fail(`invalid JSON (${(err as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(`expected a JSON object, got ${describe(value)}`);
    }
    const raw = value as Record<string, unknown>;
    const audio = raw['audio_filepath'];
    if (audio === undefined) fail('missing "audio_filepath"');
    if (typeof audio !== 'string') fail(`"audio_filepath" must be a string, got ${describe(audio)}`);
    if ((audio as string).trim() === '') fail('"audio_filepath" is empty');
    const text = raw['text'];
    if (text === undefined) fail('missing "text"');
    if (typeof text !== 'string') fail(`"text" must be a string, got ${describe(text)}`);
    const duration = raw['duration'];
    const entry: ManifestEntry = {
      audioFilepath: path.resolve(baseDir, audio as string),
      text: text as string,
      raw,
    };
    if (duration !== undefined && duration !== null) {
      if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) {
        fail(`"duration" must be a non-negative number of seconds, got ${JSON.stringify(duration)}`);
      }
      entry.duration = duration as number;
    }
    entries.push(entry);
  }
  return entries;
}

/** Read and validate a manifest (see the module comment). */
export async function readManifest(manifestPath: string): Promise<ManifestEntry[]> {
  const content = await readFile(manifestPath, 'utf8');
  return parseManifest(content, manifestPath);
}

/** One JSON line per record: `audio_filepath`, `text`, `duration` (if given), then other keys. */
export function formatManifest(entries: readonly ManifestRecord[]): string {
  return entries
    .map((e, i) => {
      if (typeof e.audio_filepath !== 'string' || e.audio_filepath === '') {
        throw new TypeError(`writeManifest: entry ${i}: "audio_filepath" must be a non-empty string`);
      }
      if (typeof e.text !== 'string') throw new TypeError(`writeManifest: entry ${i}: "text" must be a string`);
      if (e.duration !== undefined && !(Number.isFinite(e.duration) && e.duration >= 0)) {
        throw new TypeError(`writeManifest: entry ${i}: "duration" must be a non-negative finite number`);
      }
      const { audio_filepath, text, duration, ...rest } = e;
      const out: Record<string, unknown> = { audio_filepath, text };
      if (duration !== undefined) out['duration'] = duration;
      for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
      return JSON.stringify(out) + '\n';
    })
    .join('');
}

/**
 * Write a manifest atomically: the content goes to a temporary file beside the target
 * (`.<name>.<random>.tmp`), is flushed to disk, then renamed over `manifestPath`. The folder is
 * created if missing. `audio_filepath` values are written as given (relative ones will be read back
 * relative to the manifest's folder).
 */
export async function writeManifest(manifestPath: string, entries: readonly ManifestRecord[]): Promise<void> {
  await writeFileAtomic(manifestPath, formatManifest(entries));
}
