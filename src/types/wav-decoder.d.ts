// Type declarations for wav-decoder 1.3.0, which ships none.
// It is a CommonJS module: `module.exports = { decode }` with `decode.sync` attached.
declare module 'wav-decoder' {
  namespace WavDecoder {
    interface DecodedWav {
      numberOfChannels: number;
      /** Frames per channel. */
      length: number;
      sampleRate: number;
      channelData: Float32Array[];
    }

    interface DecodeOptions {
      /**
       * Integer PCM scaling. false (default): negative values are divided by 2^(b-1),
       * positive ones by 2^(b-1)-1. true: everything is divided by 2^(b-1), except 8-bit,
       * which becomes (u - 127.5) / 127.5.
       */
      symmetric?: boolean;
    }

    interface Decode {
      /** Accepts an ArrayBuffer, or a Node Buffer (which it copies). */
      (buffer: ArrayBuffer | Buffer, opts?: DecodeOptions): Promise<DecodedWav>;
      sync(buffer: ArrayBuffer | Buffer, opts?: DecodeOptions): DecodedWav;
    }
  }

  const WavDecoder: { decode: WavDecoder.Decode };
  export = WavDecoder;
}
