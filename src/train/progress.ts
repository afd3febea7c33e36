/**
 * Progress of long work on stderr: a live bar on a terminal (cli-progress), a plain line
 * every few seconds otherwise (logs, CI). Each bar has named fields (loss, speed, ...)
 * shown after the count, then the ETA.
 */
import cliProgress from 'cli-progress';

export type ProgressFields = Record<string, string>;

export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = 0;
  private started = Date.now();
  private startCount = 0;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly fieldNames: readonly string[] = [],
    private readonly quiet = false,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  start(initial = 0): void {
    this.started = Date.now();
    this.startCount = initial;
    if (this.quiet || !this.stream.isTTY) return;
    const fields = this.fieldNames.map((f) => ` | ${f} {${f}}`).join('');
    this.bar = new cliProgress.SingleBar(
      { format: `${this.label} {bar} {value}/{total}${fields} | ETA {eta_formatted}`, stream: this.stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.total, initial, Object.fromEntries(this.fieldNames.map((f) => [f, '-'])));
  }

  update(done: number, fields: ProgressFields = {}): void {
    if (this.bar) {
      this.bar.update(done, fields);
      return;
    }
    if (this.quiet) return;
    const now = Date.now();
    if (now - this.lastLine < 10_000 && done < this.total) return;
    this.lastLine = now;
    const rate = (done - this.startCount) / Math.max(1e-3, (now - this.started) / 1000);
    const eta = rate > 0 ? (this.total - done) / rate : NaN;
    const shown = this.fieldNames.filter((f) => fields[f] !== undefined).map((f) => ` ${f} ${fields[f]}`).join('');
    this.stream.write(`${this.label} ${done}/${this.total}${shown} ETA ${formatSeconds(eta)}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
