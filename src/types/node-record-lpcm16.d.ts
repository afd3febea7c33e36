// Type declarations for node-record-lpcm16 1.0.1, which ships none.
// It is a CommonJS module: `module.exports = { record }`.
declare module 'node-record-lpcm16' {
  import type { ChildProcessWithoutNullStreams } from 'node:child_process';
  import type { Readable } from 'node:stream';

  namespace NodeRecordLpcm16 {
    interface RecordOptions {
      /** Default 16000. */
      sampleRate?: number;
      /** Default 1. */
      channels?: number;
      compress?: boolean;
      /** Silence threshold in percent for endOnSilence (sox/rec only). Default 0.5. */
      threshold?: number;
      thresholdStart?: number | null;
      thresholdEnd?: number | null;
      /** Seconds of silence that end the recording with endOnSilence. Default '1.0'. */
      silence?: string;
      /** Program that records: 'sox' (default), 'rec' or 'arecord'. */
      recorder?: 'sox' | 'rec' | 'arecord' | string;
      /** Stop at the first silence (sox/rec only). Default false. */
      endOnSilence?: boolean;
      /** Output container passed to the recorder's -t: 'wav' (default) or 'raw' (16-bit signed little-endian). */
      audioType?: string;
      /** Capture device: AUDIODEV for sox, -D for arecord; ignored by rec (which reads AUDIODEV from the environment). */
      device?: string | null;
    }

    interface Recording {
      readonly options: Required<RecordOptions>;
      readonly cmd: string;
      readonly args: string[];
      /** The recorder child process (stdio piped). */
      readonly process: ChildProcessWithoutNullStreams;
      /** Kills the recorder (SIGTERM). The stream then emits 'error' (a string) because the exit code is not 0. */
      stop(): void;
      pause(): void;
      resume(): void;
      isPaused(): boolean;
      /** The recorder's stdout. Emits 'error' with a string message when the recorder exits with a non-zero code. */
      stream(): Readable;
    }
  }

  const NodeRecordLpcm16: { record(options?: NodeRecordLpcm16.RecordOptions): NodeRecordLpcm16.Recording };
  export = NodeRecordLpcm16;
}
