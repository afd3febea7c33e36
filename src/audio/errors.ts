/**
 * The one error type the audio front end throws for bad input files.
 *
 * `file` is the path (or label) the caller gave, `problem` a short human-readable
 * description; the message is always a single line, `${file}: ${problem}`, so the CLI
 * can print it as-is, one line per bad file.
 */
export class AudioError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    // Keep the message on one line even if a file name or problem contains newlines.
    super(`${file}: ${problem}`.replace(/[\r\n]+/g, ' '));
    this.name = 'AudioError';
  }
}
