/** A dense frames x dim matrix of features, stored row-major (frame after frame). */
export interface FeatureMatrix {
  frames: number;
  dim: number;
  data: Float32Array;
}

/** A zero-filled matrix. */
export function createMatrix(frames: number, dim: number): FeatureMatrix {
  if (!Number.isInteger(frames) || frames < 0 || !Number.isInteger(dim) || dim < 0) {
    throw new Error(`createMatrix: bad shape ${frames} x ${dim}`);
  }
  return { frames, dim, data: new Float32Array(frames * dim) };
}

/** A view (no copy) of frame i: writing to it writes to the matrix. */
export function frameRow(m: FeatureMatrix, i: number): Float32Array {
  if (i < 0 || i >= m.frames) throw new RangeError(`frame ${i} out of range 0..${m.frames - 1}`);
  return m.data.subarray(i * m.dim, (i + 1) * m.dim);
}

/** A copy of column j (one feature over time). */
export function column(m: FeatureMatrix, j: number): Float32Array {
  if (j < 0 || j >= m.dim) throw new RangeError(`column ${j} out of range 0..${m.dim - 1}`);
  const out = new Float32Array(m.frames);
  for (let t = 0; t < m.frames; t++) out[t] = m.data[t * m.dim + j] as number;
  return out;
}

/** Element (t, j). */
export function at(m: FeatureMatrix, t: number, j: number): number {
  return m.data[t * m.dim + j] as number;
}

/** A deep copy. */
export function cloneMatrix(m: FeatureMatrix): FeatureMatrix {
  return { frames: m.frames, dim: m.dim, data: m.data.slice() };
}

/** Builds a matrix from equally long rows. */
export function matrixFromRows(rows: ArrayLike<number>[], dim?: number): FeatureMatrix {
  const d = dim ?? (rows.length > 0 ? (rows[0] as ArrayLike<number>).length : 0);
  const m = createMatrix(rows.length, d);
  rows.forEach((row, t) => {
    if (row.length !== d) throw new Error(`matrixFromRows: row ${t} has ${row.length} values, expected ${d}`);
    m.data.set(row, t * d);
  });
  return m;
}

/** Rows as plain number arrays (for JSON, debugging and tests). */
export function matrixToRows(m: FeatureMatrix): number[][] {
  const rows: number[][] = [];
  for (let t = 0; t < m.frames; t++) rows.push(Array.from(frameRow(m, t)));
  return rows;
}
