/**
 * Training progress on stderr: a live bar on a terminal (cli-progress), a plain line every
 * few seconds otherwise (logs, CI), so that long runs always show step, loss, teacher
 * forcing, speed and ETA.
 */
import cliProgress from 'cli-progress';

export interface StepInfo {
  step: number;
  loss: number;
  teacherForcing: number;
  learningRate: number;
  utterancesPerSecond: number;
}

export class TrainingProgress {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = 0;
  private started = Date.now();
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly quiet = false,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  start(initial = 0): void {
    this.started = Date.now();
    this.done = initial;
    if (this.quiet) return;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.label} {bar} {value}/{total} | loss {loss} | tf {tf} | lr {lr} | {speed} utt/s | ETA {eta_formatted}`,
          stream: this.stream,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, initial, { loss: '-', tf: '-', lr: '-', speed: '-' });
    }
  }

  update(done: number, info: StepInfo): void {
    this.done = done;
    const payload = {
      loss: info.loss.toFixed(3),
      tf: info.teacherForcing.toFixed(2),
      lr: info.learningRate.toExponential(1),
      speed: info.utterancesPerSecond.toFixed(1),
    };
    if (this.bar) {
      this.bar.update(done, payload);
      return;
    }
    if (this.quiet) return;
    const now = Date.now();
    if (now - this.lastLine < 10_000 && done < this.total) return;
    this.lastLine = now;
    const rate = done / Math.max(1e-3, (now - this.started) / 1000);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    this.stream.write(
      `${this.label} ${done}/${this.total} step ${info.step} loss ${payload.loss} tf ${payload.tf} lr ${payload.lr} ${payload.speed} utt/s ETA ${formatSeconds(eta)}\n`,
    );
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  /** Print a line without breaking the bar. */
  log(line: string): void {
    if (this.bar) {
      this.bar.stop();
      this.stream.write(line + '\n');
      const bar = this.bar as cliProgress.SingleBar;
      bar.start(this.total, this.done);
    } else if (!this.quiet) {
      this.stream.write(line + '\n');
    }
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
