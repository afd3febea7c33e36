import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLargeFile } from '../src/io/read-large.js';

describe('readLargeFile', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('reads a file in several chunks byte for byte, and empty files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'koe-read-'));
    dirs.push(dir);
    const data = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 7919) % 251));
    await writeFile(path.join(dir, 'a.bin'), data);
    expect((await readLargeFile(path.join(dir, 'a.bin'), 4096)).equals(data)).toBe(true);
    expect((await readLargeFile(path.join(dir, 'a.bin'))).equals(data)).toBe(true);
    await writeFile(path.join(dir, 'empty.bin'), Buffer.alloc(0));
    expect((await readLargeFile(path.join(dir, 'empty.bin'))).length).toBe(0);
    await expect(readLargeFile(path.join(dir, 'missing.bin'))).rejects.toThrow(/ENOENT/);
  });
});
