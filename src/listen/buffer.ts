/** Audio kept by absolute sample position: append at the end, read any range, drop the past. */
export class SampleBuffer {
  private chunks: Float32Array[] = [];
  /** Absolute position of the first sample of chunks[0]. */
  private base = 0;
  private total = 0;

  /** Absolute position one past the last sample appended. */
  get end(): number {
    return this.base + this.total;
  }

  /** Absolute position of the oldest sample still held. */
  get start(): number {
    return this.base;
  }

  append(chunk: Float32Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Copy of samples [from, to); throws if part of the range was dropped or not yet appended. */
  slice(from: number, to: number): Float32Array {
    if (from < this.base || to > this.end || from > to) {
      throw new RangeError(`SampleBuffer: range ${from}..${to} outside the samples held (${this.base}..${this.end})`);
    }
    const out = new Float32Array(to - from);
    let pos = this.base;
    for (const c of this.chunks) {
      const cEnd = pos + c.length;
      if (cEnd > from && pos < to) {
        const a = Math.max(from, pos);
        const b = Math.min(to, cEnd);
        out.set(c.subarray(a - pos, b - pos), a - from);
      }
      pos = cEnd;
      if (pos >= to) break;
    }
    return out;
  }

  /** Forget whole chunks that end at or before `position`. */
  discardBefore(position: number): void {
    while (this.chunks.length > 0) {
      const first = this.chunks[0] as Float32Array;
      if (this.base + first.length > position) break;
      this.chunks.shift();
      this.base += first.length;
      this.total -= first.length;
    }
  }
}
