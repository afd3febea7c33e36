/** The index of the largest value in row `row` of a row-major [rows, cols] array (the first, on ties). */
export function argMaxRow(values: ArrayLike<number>, row: number, cols: number): number {
  let best = 0;
  for (let j = 1; j < cols; j++) if ((values[row * cols + j] as number) > (values[row * cols + best] as number)) best = j;
  return best;
}
