/**
 * WAV reading and writing.
 *
 * Reading is split in two: `inspectWav` walks the RIFF chunks itself and validates
 * everything (so every bad input becomes an AudioError with a clear problem), then
 * `decodeWav` hands the sample data to wav-decoder behind a minimal canonical header.
 * The re-wrapping is deliberate: wav-decoder only knows format codes 1 and 3 (not
 * WAVE_FORMAT_EXTENSIBLE), ignores RIFF pad bytes after odd-sized chunks, needs `fmt `
 * before `data`, and reports problems as raw TypeError/RangeError. Given a canonical
 * header it only has to do what it does well: turn bytes into floats.
 *
 * Sample scaling: integer PCM decodes linearly as v / 2^(bits-1), so [-1, 1) (the
 * convention of libsndfile, soundfile and librosa), and `encodeWav` writes
 * round(x * 2^(bits-1)) clamped to the integer range, so re-encoding decoded samples gives
 * back the same bytes (32-bit integers keep only float32's 24 bits of precision, though).
 */
import { readFile } from 'node:fs/promises';
import WavDecoder from 'wav-decoder';
import { AudioError } from './errors.js';

/** Decoded audio: one array per channel, all the same length, nominally in [-1, 1]. */
export interface DecodedAudio {
  sampleRate: number;
  channels: Float32Array[];
  /** Non-fatal problems met while decoding (e.g. a truncated data chunk); absent when none. */
  warnings?: string[];
}

/** What the header of a valid WAV file says, as found by `inspectWav`. */
export interface WavInfo {
  sampleRate: number;
  numChannels: number;
  /** Format code after resolving WAVE_FORMAT_EXTENSIBLE: 1 (integer PCM) or 3 (IEEE float). */
  formatCode: 1 | 3;
  /** Whether the file used a WAVE_FORMAT_EXTENSIBLE header. */
  extensible: boolean;
  /** Bits per sample as stored (the container): 8, 16, 24, 32 or 64. */
  containerBits: number;
  /** Bits the header says are meaningful (<= containerBits). */
  validBits: number;
  /** Bytes per frame (one sample of every channel). */
  blockAlign: number;
  /** Whole frames available in the file (fewer than declared if it is truncated). */
  frames: number;
  /** frames / sampleRate, in seconds. */
  duration: number;
  /** Byte offset of the first sample in the file. */
  dataOffset: number;
  /** Data size the header declares, in bytes. */
  declaredDataBytes: number;
  warnings: string[];
}

export interface DecodeWavOptions {
  /**
   * Reject truncated files instead of decoding the whole frames that are present.
   * Default false; see the note on truncation in `inspectWav`.
   */
  strict?: boolean;
}

export interface WavFormat {
  /** Bits per sample. 8-bit is unsigned (as WAV requires), 16/24/32 signed; float: 32 or 64. */
  bits: 8 | 16 | 24 | 32 | 64;
  /** IEEE float samples (format code 3) instead of integer PCM. Needs bits 32 or 64. */
  float?: boolean;
  /**
   * Write a WAVE_FORMAT_EXTENSIBLE header. Off by default because many simple readers
   * (wav-decoder among them) only understand the plain header, which every reader accepts.
   */
  extensible?: boolean;
}

/** Sample rates outside this range are taken as a corrupt header rather than audio. */
export const MIN_WAV_SAMPLE_RATE = 1000;
export const MAX_WAV_SAMPLE_RATE = 768000;
/** A sanity bound on the channel count, against corrupt headers. */
const MAX_CHANNELS = 1024;

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Names for the non-PCM encodings people most often meet, for friendlier errors. */
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MP3',
  0x00ff: 'AAC',
  0x1610: 'AAC',
};

/**
 * The last 14 bytes of the SubFormat GUIDs we understand; the first two bytes are the
 * format code. KSDATAFORMAT_SUBTYPE_* is {0000XXXX-0000-0010-8000-00aa00389b71}; the
 * Ambisonic B-format variant {0000XXXX-0721-11d3-8644-c8c1ca000000} carries the same
 * PCM/float samples.
 */
const SUBFORMAT_TAILS = [
  [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71],
  [0x00, 0x00, 0x21, 0x07, 0xd3, 0x11, 0x86, 0x44, 0xc8, 0xc1, 0xca, 0x00, 0x00, 0x00],
];
const KSDATAFORMAT_TAIL = SUBFORMAT_TAILS[0] as number[];

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** Whether 4 bytes at `offset` look like a RIFF chunk id (printable ASCII). */
function looksLikeChunkId(bytes: Uint8Array, offset: number): boolean {
  if (offset + 4 > bytes.length) return false;
  for (let i = offset; i < offset + 4; i++) {
    const c = bytes[i] as number;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Guess what a non-WAV file is, to make "not a WAV file" more helpful. */
function sniffFormat(bytes: Uint8Array): string | undefined {
  const head = ascii(bytes, 0, 4);
  if (head === 'fLaC') return 'FLAC';
  if (head === 'OggS') return 'Ogg';
  if (head.startsWith('ID3') || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)) return 'MP3';
  if (head === 'FORM') return 'AIFF';
  if (ascii(bytes, 4, 4) === 'ftyp') return 'MP4/M4A';
  if (head === '\x1aE\xdf\xa3') return 'WebM/Matroska';
  return undefined;
}

/**
 * Parse and validate a WAV file's header without decoding samples.
 *
 * Truncation policy: a data chunk that declares more bytes than the file holds is
 * accepted (unless `strict`) with the whole frames that are present, and a warning.
 * Recorders that write to a pipe cannot seek back to fill in sizes, so they leave
 * placeholders (0xFFFFFFFF from ffmpeg, ~0x7FFFFFFF from sox/arecord), and a recording
 * cut short by a crash or Ctrl-C is still good audio up to the cut; rejecting those
 * would reject exactly what live dictation produces. A trailing partial frame is
 * dropped. A file cut inside the header, or with less than one whole frame of the
 * audio it declares, is an error.
 */
export function inspectWav(bytes: Uint8Array, file: string, options: DecodeWavOptions = {}): WavInfo {
  function fail(problem: string): never {
    throw new AudioError(file, problem);
  }
  const n = bytes.length;
  if (n === 0) fail('empty file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (pos: number): number => view.getUint16(pos, true);
  const u32 = (pos: number): number => view.getUint32(pos, true);

  // ---- RIFF/WAVE header --------------------------------------------------------------
  const riffId = ascii(bytes, 0, 4);
  const waveId = ascii(bytes, 8, 4);
  const isRiff = riffId === 'RIFF' || riffId === 'RF64';
  if (n < 12) {
    // A prefix of "RIFF????WAVE" is a WAV cut inside its header; anything else is not a WAV.
    const prefixOk = 'RIFF'.startsWith(riffId) || 'RF64'.startsWith(riffId);
    if (prefixOk && 'WAVE'.startsWith(waveId)) fail(`truncated WAV (file ends inside the header, after ${n} bytes)`);
  }
  if (riffId === 'RIFX' && waveId === 'WAVE') fail('unsupported WAV variant (big-endian RIFX)');
  if (!isRiff || waveId !== 'WAVE') {
    const kind = sniffFormat(bytes);
    fail(`not a WAV file (no RIFF/WAVE header${kind ? `; looks like ${kind}` : ''})`);
  }

  // ---- chunks ------------------------------------------------------------------------
  let fmt: { offset: number; size: number } | undefined;
  let data: { offset: number; size: number } | undefined;
  let ds64DataSize: number | undefined; // RF64: the real data size lives in the ds64 chunk
  let pos = 12;
  let endedInside: string | undefined; // chunk id the file ends inside of, if any
  while (pos + 8 <= n) {
    const id = ascii(bytes, pos, 4);
    const size = u32(pos + 4);
    const body = pos + 8;
    if (id === 'data') {
      data ??= { offset: body, size };
      if (fmt || body + size > n) break; // nothing after the audio matters (or exists)
    } else {
      if (body + size > n) {
        endedInside = id;
        break;
      }
      if (id === 'fmt ' && !fmt) fmt = { offset: body, size };
      if (id === 'ds64' && size >= 16) ds64DataSize = u32(body + 8) + u32(body + 12) * 2 ** 32;
    }
    // Chunks are padded to an even size, but some writers forget the pad byte: if the
    // padded position does not look like a chunk and the unpadded one does, trust that.
    let next = body + size + (size & 1);
    if (size & 1 && !looksLikeChunkId(bytes, next) && looksLikeChunkId(bytes, body + size)) next = body + size;
    pos = next;
  }

  // Without fmt and data chunks the likeliest story is a file cut short (a 12-byte stub,
  // or one cut inside the fmt chunk), so that is what we report.
  if (!fmt) fail(data ? 'invalid WAV file (no fmt chunk)' : `truncated WAV (file ends inside the header, after ${n} bytes)`);
  const f = fmt;
  if (f.size < 16) fail(`invalid WAV header (fmt chunk is ${f.size} bytes, expected at least 16)`);

  // ---- format ------------------------------------------------------------------------
  let formatCode = u16(f.offset);
  const numChannels = u16(f.offset + 2);
  const sampleRate = u32(f.offset + 4);
  const blockAlignHeader = u16(f.offset + 12);
  const bits = u16(f.offset + 14);
  let validBits = bits;
  const extensible = formatCode === WAVE_FORMAT_EXTENSIBLE;
  if (extensible) {
    if (f.size < 40) fail(`invalid WAV header (WAVE_FORMAT_EXTENSIBLE fmt chunk is ${f.size} bytes, expected 40)`);
    validBits = u16(f.offset + 18) || bits; // 0 means "same as the container"
    formatCode = u16(f.offset + 24);
    const tailOk = SUBFORMAT_TAILS.some((tail) => tail.every((b, i) => bytes[f.offset + 26 + i] === b));
    if (!tailOk) {
      const guid = Array.from(bytes.subarray(f.offset + 24, f.offset + 40), (b) => b.toString(16).padStart(2, '0')).join('');
      fail(`unsupported WAV encoding (WAVE_FORMAT_EXTENSIBLE sub-format ${guid}, ${bits} bits)`);
    }
  }

  if (numChannels === 0) fail('invalid WAV header (0 channels)');
  if (numChannels > MAX_CHANNELS) fail(`invalid WAV header (${numChannels} channels)`);
  if (sampleRate < MIN_WAV_SAMPLE_RATE || sampleRate > MAX_WAV_SAMPLE_RATE) {
    fail(`unsupported sample rate (${sampleRate} Hz; expected ${MIN_WAV_SAMPLE_RATE}-${MAX_WAV_SAMPLE_RATE} Hz)`);
  }

  function unsupported(): never {
    const name = FORMAT_NAMES[formatCode];
    const hint = name ? `: ${name}; convert it to PCM first, e.g. sox in.wav -e signed -b 16 out.wav` : '';
    fail(`unsupported WAV encoding (format code ${formatCode}, ${bits} bits)${hint}`);
  }
  if (formatCode !== WAVE_FORMAT_PCM && formatCode !== WAVE_FORMAT_IEEE_FLOAT) unsupported();
  if (bits === 0 || validBits > bits) unsupported();
  // The container size: normally ceil(bits / 8) bytes, but a header may declare e.g. 12 or
  // 20 meaningful bits in a wider container (samples are left-justified, so decoding the
  // whole container gives the right scale). Trust blockAlign when it is consistent.
  let containerBytes = Math.ceil(bits / 8);
  if (blockAlignHeader > 0 && blockAlignHeader % numChannels === 0 && blockAlignHeader / numChannels > containerBytes) {
    containerBytes = blockAlignHeader / numChannels;
  }
  const containerBits = containerBytes * 8;
  if (formatCode === WAVE_FORMAT_PCM && containerBits > 32) unsupported();
  if (formatCode === WAVE_FORMAT_IEEE_FLOAT && ((bits !== 32 && bits !== 64) || containerBits !== bits)) unsupported();
  const blockAlign = containerBytes * numChannels;

  // ---- data --------------------------------------------------------------------------
  if (!data) {
    if (endedInside || pos < n) fail(`truncated WAV (file ends inside the header, after ${n} bytes)`);
    fail(`truncated WAV (no data chunk; file ends after ${n} bytes)`);
  }
  const d = data;
  const declared = d.size === 0xffffffff && ds64DataSize !== undefined ? ds64DataSize : d.size;
  if (declared === 0) fail('WAV file contains no audio samples');
  const available = n - d.offset;
  const usable = Math.min(declared, available);
  const frames = Math.floor(usable / blockAlign);
  const warnings: string[] = [];
  if (available < declared) {
    const problem = `truncated WAV (header says ${declared} bytes of audio, file has ${available})`;
    if (options.strict || frames === 0) fail(problem);
    warnings.push(`${problem}; using the ${frames} whole frames present`);
  } else if (frames === 0) {
    fail(`WAV file contains no audio samples (data chunk of ${declared} bytes is smaller than one ${blockAlign}-byte frame)`);
  } else if (usable % blockAlign !== 0) {
    warnings.push(`data chunk ends with ${usable % blockAlign} bytes that do not form a whole frame; ignored`);
  }

  return {
    sampleRate,
    numChannels,
    formatCode: formatCode as 1 | 3,
    extensible,
    containerBits,
    validBits,
    blockAlign,
    frames,
    duration: frames / sampleRate,
    dataOffset: d.offset,
    declaredDataBytes: declared,
    warnings,
  };
}

/** Write a canonical 44-byte header (format 1 or 3, no extras) followed by `frames` frames. */
function canonicalWav(bytes: Uint8Array, info: WavInfo): ArrayBuffer {
  const dataBytes = info.frames * info.blockAlign;
  const out = new ArrayBuffer(44 + dataBytes);
  const view = new DataView(out);
  const put = (pos: number, s: string): void => {
    for (let i = 0; i < s.length; i++) view.setUint8(pos + i, s.charCodeAt(i));
  };
  put(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, info.formatCode, true);
  view.setUint16(22, info.numChannels, true);
  view.setUint32(24, info.sampleRate, true);
  view.setUint32(28, info.sampleRate * info.blockAlign, true);
  view.setUint16(32, info.blockAlign, true);
  view.setUint16(34, info.containerBits, true);
  put(36, 'data');
  view.setUint32(40, dataBytes, true);
  new Uint8Array(out, 44).set(bytes.subarray(info.dataOffset, info.dataOffset + dataBytes));
  return out;
}

/**
 * Decode a WAV file held in memory. `file` names it in errors.
 * Throws AudioError for anything that is not a decodable WAV.
 */
export function decodeWav(bytes: Uint8Array, file: string, options: DecodeWavOptions = {}): DecodedAudio {
  const info = inspectWav(bytes, file, options);
  const isFloat = info.formatCode === WAVE_FORMAT_IEEE_FLOAT;
  const bits = info.containerBits;

  let decoded: WavDecoder.DecodedWav;
  try {
    // symmetric: v / 2^(b-1) for 16/24/32 bits. Not for 8-bit, where wav-decoder's
    // symmetric mode would map silence (128) to 0.0039; its default is fixed up below.
    decoded = WavDecoder.decode.sync(canonicalWav(bytes, info), { symmetric: bits !== 8 });
  } catch (err) {
    throw new AudioError(file, `could not decode WAV samples (${err instanceof Error ? err.message : String(err)})`);
  }
  const channels = decoded.channelData;
  if (channels.length !== info.numChannels || channels.some((c) => c.length !== info.frames)) {
    throw new AudioError(file, 'could not decode WAV samples (decoder returned an unexpected shape)');
  }

  const warnings = [...info.warnings];
  if (isFloat) {
    // NaN or infinity would poison resampling and features; treat them as silence.
    let bad = 0;
    for (const ch of channels) {
      for (let i = 0; i < ch.length; i++) {
        if (!Number.isFinite(ch[i] as number)) {
          ch[i] = 0;
          bad++;
        }
      }
    }
    if (bad > 0) warnings.push(`${bad} non-finite float samples replaced by 0`);
  } else if (bits === 8) {
    // wav-decoder's default 8-bit scaling is (u-128)/128 below zero but (u-128)/127
    // above; make it linear, (u-128)/128, like the other depths.
    for (const ch of channels) {
      for (let i = 0; i < ch.length; i++) {
        const v = ch[i] as number;
        if (v > 0) ch[i] = Math.round(v * 127) / 128;
      }
    }
  } else if (bits === 24) {
    // wav-decoder 1.3.0 bug: it decodes the most negative 24-bit value, 0x800000, as +1
    // (it tests `> 0x800000` instead of `>=`). No other code decodes to exactly 1.
    for (const ch of channels) {
      for (let i = 0; i < ch.length; i++) if (ch[i] === 1) ch[i] = -1;
    }
  }

  const result: DecodedAudio = { sampleRate: info.sampleRate, channels };
  if (warnings.length > 0) result.warnings = warnings;
  return result;
}

/**
 * Read and decode a WAV file. Throws AudioError with problem "file not found", "is a
 * directory, not a WAV file", "permission denied", or any problem from `decodeWav`.
 */
export async function readWavFile(path: string, options: DecodeWavOptions = {}): Promise<DecodedAudio> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AudioError(path, 'file not found');
    if (code === 'EISDIR') throw new AudioError(path, 'is a directory, not a WAV file');
    if (code === 'EACCES' || code === 'EPERM') throw new AudioError(path, 'permission denied');
    throw new AudioError(path, `cannot read file (${code ?? (err instanceof Error ? err.message : String(err))})`);
  }
  return decodeWav(bytes, path, options);
}

/**
 * Encode samples as a WAV file. `samples` is one Float32Array per channel (all the same
 * length) or a single mono array. Integer encodings write round(x * 2^(bits-1)), clamped
 * to the integer range (so +1.0 becomes the largest integer), without dither, so output is
 * deterministic; NaN becomes 0. Float encodings write the values as they are.
 */
export function encodeWav(
  samples: Float32Array[] | Float32Array,
  sampleRate: number,
  format: WavFormat = { bits: 16 },
): Buffer {
  const channels = samples instanceof Float32Array ? [samples] : samples;
  const numChannels = channels.length;
  const first = channels[0];
  if (!first) throw new RangeError('encodeWav: no channels');
  if (numChannels > 0xffff) throw new RangeError(`encodeWav: too many channels (${numChannels})`);
  const frames = first.length;
  if (channels.some((c) => c.length !== frames)) throw new RangeError('encodeWav: channels differ in length');
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) {
    throw new RangeError(`encodeWav: sample rate must be a positive integer, got ${sampleRate}`);
  }
  const { bits, float = false, extensible = false } = format;
  if (float ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits)) {
    throw new RangeError(`encodeWav: unsupported format (${float ? 'float' : 'integer'}, ${bits} bits)`);
  }

  const bytesPerSample = bits / 8;
  const blockAlign = bytesPerSample * numChannels;
  const dataBytes = frames * blockAlign;
  const code = float ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM;
  // Plain PCM has a 16-byte fmt chunk; other formats add cbSize (18 bytes), and
  // EXTENSIBLE 22 more bytes. Non-PCM formats also carry a fact chunk (frame count).
  const fmtSize = extensible ? 40 : float ? 18 : 16;
  const hasFact = float || extensible;
  const headerBytes = 12 + 8 + fmtSize + (hasFact ? 12 : 0) + 8;
  if (headerBytes - 8 + dataBytes > 0xffffffff) throw new RangeError('encodeWav: audio too long for a WAV file (4 GiB)');

  const out = Buffer.alloc(headerBytes + dataBytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let pos = 0;
  const str = (s: string): void => {
    out.write(s, pos, 'latin1');
    pos += s.length;
  };
  const w16 = (v: number): void => {
    view.setUint16(pos, v, true);
    pos += 2;
  };
  const w32 = (v: number): void => {
    view.setUint32(pos, v, true);
    pos += 4;
  };

  str('RIFF');
  w32(headerBytes - 8 + dataBytes);
  str('WAVE');
  str('fmt ');
  w32(fmtSize);
  w16(extensible ? WAVE_FORMAT_EXTENSIBLE : code);
  w16(numChannels);
  w32(sampleRate);
  w32(sampleRate * blockAlign);
  w16(blockAlign);
  w16(bits);
  if (fmtSize > 16) w16(fmtSize - 18); // cbSize
  if (extensible) {
    w16(bits); // valid bits
    w32(numChannels === 1 ? 0x4 : numChannels === 2 ? 0x3 : 0); // front centre / front left+right / unspecified
    w16(code);
    for (const b of KSDATAFORMAT_TAIL) out[pos++] = b;
  }
  if (hasFact) {
    str('fact');
    w32(4);
    w32(frames);
  }
  str('data');
  w32(dataBytes);

  const scale = 2 ** (bits - 1);
  const max = scale - 1;
  const quantize = (x: number): number => {
    const v = Math.round(x * scale);
    return v > max ? max : v < -scale ? -scale : v || 0; // `|| 0` maps NaN (and -0) to 0
  };
  for (let c = 0; c < numChannels; c++) {
    const ch = channels[c] as Float32Array;
    let p = pos + c * bytesPerSample;
    for (let i = 0; i < frames; i++, p += blockAlign) {
      const x = ch[i] as number;
      if (float) {
        if (bits === 32) view.setFloat32(p, x, true);
        else view.setFloat64(p, x, true);
        continue;
      }
      const v = quantize(x);
      switch (bits) {
        case 8:
          view.setUint8(p, v + 128); // 8-bit WAV is unsigned, silence = 128
          break;
        case 16:
          view.setInt16(p, v, true);
          break;
        case 24:
          view.setUint8(p, v & 0xff);
          view.setUint8(p + 1, (v >> 8) & 0xff);
          view.setUint8(p + 2, (v >> 16) & 0xff);
          break;
        default:
          view.setInt32(p, v, true);
      }
    }
  }
  return out;
}
