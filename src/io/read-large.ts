/** Whole-file reads past fs.readFile's 2 GiB limit (a 40,000-utterance feature cache is ~2.4 GB). */
import { open } from 'node:fs/promises';

/** Read a whole file into one Buffer, in reads of `chunkBytes` (fs.readFile refuses files over 2 GiB). */
export async function readLargeFile(file: string, chunkBytes = 1 << 30): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(bytes, done, Math.min(size - done, chunkBytes), done);
      if (bytesRead === 0) throw new Error(`${file}: shrank while being read (${done} of ${size} bytes)`);
      done += bytesRead;
    }
    return bytes;
  } finally {
    await fh.close();
  }
}
