import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestError, parseManifest, readManifest, writeManifest } from '../src/io/manifest.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'koe-manifest-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectLineError(content: string, line: number, reason: RegExp): Promise<void> {
  const file = path.join(dir, `bad-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(file, content);
  const err = await readManifest(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ManifestError);
  const me = err as ManifestError;
  expect(me.file).toBe(file);
  expect(me.line).toBe(line);
  expect(me.message.startsWith(`${file}:${line}: `)).toBe(true);
  expect(me.message).toMatch(reason);
}

describe('readManifest', () => {
  it('resolves relative paths against the manifest folder, skips blank lines, keeps raw', async () => {
    const sub = path.join(dir, 'data', 'dev');
    const file = path.join(sub, 'manifest.jsonl');
    await writeManifest(file, []); // creates the folder
    const content = [
      '{"audio_filepath": "wavs/a.wav", "text": "hello world", "duration": 1.5}',
      '',
      '   ',
      '{"audio_filepath": "../b.wav", "text": "", "speaker": "s1"}',
      '{"audio_filepath": "/abs/c.wav", "text": "don\'t", "duration": null}',
      '',
    ].join('\n');
    await writeFile(file, content);
    const entries = await readManifest(file);
    expect(entries).toEqual([
      {
        audioFilepath: path.join(sub, 'wavs', 'a.wav'),
        text: 'hello world',
        duration: 1.5,
        raw: { audio_filepath: 'wavs/a.wav', text: 'hello world', duration: 1.5 },
      },
      {
        audioFilepath: path.join(dir, 'data', 'b.wav'),
        text: '',
        raw: { audio_filepath: '../b.wav', text: '', speaker: 's1' },
      },
      {
        audioFilepath: path.resolve('/abs/c.wav'),
        text: "don't",
        raw: { audio_filepath: '/abs/c.wav', text: "don't", duration: null },
      },
    ]);
  });

  it('resolves against the manifest folder even when given a relative manifest path', () => {
    const entries = parseManifest('{"audio_filepath": "x.wav", "text": "a"}\n', path.join('some', 'dir', 'm.jsonl'));
    expect(entries[0]?.audioFilepath).toBe(path.resolve('some', 'dir', 'x.wav'));
  });

  it('accepts CRLF line ends and a byte order mark', () => {
    const entries = parseManifest('\uFEFF{"audio_filepath": "a.wav", "text": "a"}\r\n\r\n{"audio_filepath": "b.wav", "text": "b"}\r\n', '/m/x.jsonl');
    expect(entries.map((e) => e.audioFilepath)).toEqual([path.resolve('/m/a.wav'), path.resolve('/m/b.wav')]);
  });

  it('empty file gives no entries', async () => {
    const file = path.join(dir, 'empty.jsonl');
    await writeFile(file, '');
    expect(await readManifest(file)).toEqual([]);
  });

  it('invalid JSON names file and line (blank lines still count)', async () => {
    await expectLineError('{"audio_filepath": "a.wav", "text": "a"}\n\n{"audio_filepath": "b.wav", "text": \n', 3, /invalid JSON/);
  });

  it('non-object JSON', async () => {
    await expectLineError('["a.wav", "text"]\n', 1, /expected a JSON object, got an array/);
    await expectLineError('"just a string"\n', 1, /expected a JSON object, got a string/);
    await expectLineError('null\n', 1, /expected a JSON object, got null/);
  });

  it('missing or bad audio_filepath', async () => {
    await expectLineError('{"audio_filepath": "a.wav", "text": "a"}\n{"text": "b"}\n', 2, /missing "audio_filepath"/);
    await expectLineError('{"audio_filepath": 3, "text": "b"}\n', 1, /"audio_filepath" must be a string, got a number/);
    await expectLineError('{"audio_filepath": "  ", "text": "b"}\n', 1, /"audio_filepath" is empty/);
  });

  it('missing or non-string text', async () => {
    await expectLineError('{"audio_filepath": "a.wav"}\n', 1, /missing "text"/);
    await expectLineError('{"audio_filepath": "a.wav", "text": 42}\n', 1, /"text" must be a string, got a number/);
    await expectLineError('{"audio_filepath": "a.wav", "text": null}\n', 1, /"text" must be a string, got null/);
  });

  it('bad duration', async () => {
    await expectLineError('{"audio_filepath": "a.wav", "text": "a", "duration": "3.2"}\n', 1, /"duration" must be a non-negative number/);
    await expectLineError('{"audio_filepath": "a.wav", "text": "a", "duration": -1}\n', 1, /"duration"/);
  });

  it('a missing file rejects with the fs error', async () => {
    await expect(readManifest(path.join(dir, 'nope.jsonl'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('writeManifest', () => {
  it('writes one JSON object per line in a fixed key order and reads back', async () => {
    const file = path.join(dir, 'out', 'train.jsonl');
    await writeManifest(file, [
      { audio_filepath: 'wavs/1.wav', text: 'hello world', duration: 2.25 },
      { text: "don't", audio_filepath: '/abs/2.wav', speaker: 'bob' },
    ]);
    const content = await readFile(file, 'utf8');
    expect(content).toBe(
      '{"audio_filepath":"wavs/1.wav","text":"hello world","duration":2.25}\n' +
        '{"audio_filepath":"/abs/2.wav","text":"don\'t","speaker":"bob"}\n',
    );
    const back = await readManifest(file);
    expect(back.map((e) => [e.audioFilepath, e.text, e.duration])).toEqual([
      [path.join(dir, 'out', 'wavs', '1.wav'), 'hello world', 2.25],
      [path.resolve('/abs/2.wav'), "don't", undefined],
    ]);
  });

  it('replaces an existing file and leaves no temporary files', async () => {
    const sub = path.join(dir, 'atomic');
    const file = path.join(sub, 'm.jsonl');
    await writeManifest(file, [{ audio_filepath: 'a.wav', text: 'old' }]);
    await writeManifest(file, [{ audio_filepath: 'b.wav', text: 'new' }]);
    expect(await readFile(file, 'utf8')).toBe('{"audio_filepath":"b.wav","text":"new"}\n');
    expect(await readdir(sub)).toEqual(['m.jsonl']);
  });

  it('validates entries before touching the file', async () => {
    const sub = path.join(dir, 'invalid');
    const file = path.join(sub, 'm.jsonl');
    await writeManifest(file, [{ audio_filepath: 'a.wav', text: 'keep' }]);
    await expect(writeManifest(file, [{ audio_filepath: '', text: 'x' }])).rejects.toThrow(/audio_filepath/);
    await expect(
      writeManifest(file, [{ audio_filepath: 'a.wav', text: 3 as unknown as string }]),
    ).rejects.toThrow(/"text"/);
    await expect(writeManifest(file, [{ audio_filepath: 'a.wav', text: 'x', duration: NaN }])).rejects.toThrow(
      /duration/,
    );
    expect(await readFile(file, 'utf8')).toBe('{"audio_filepath":"a.wav","text":"keep"}\n');
    expect(await readdir(sub)).toEqual(['m.jsonl']);
  });

  it('cleans up the temporary file when the rename fails', async () => {
    const sub = path.join(dir, 'renamefail');
    const target = path.join(sub, 'target.jsonl');
    // A non-empty directory at the target path makes rename fail.
    await writeManifest(path.join(target, 'inner.jsonl'), []);
    await expect(writeManifest(target, [{ audio_filepath: 'a.wav', text: 'x' }])).rejects.toThrow();
    expect(await readdir(sub)).toEqual(['target.jsonl']);
  });

  it('round-trips text with quotes, backslashes and newlines escaped', async () => {
    const file = path.join(dir, 'escape.jsonl');
    const text = 'say "hi" \\ and\nbye';
    await writeManifest(file, [{ audio_filepath: 'a.wav', text }]);
    const content = await readFile(file, 'utf8');
    expect(content.split('\n')).toHaveLength(2);
    expect((await readManifest(file))[0]?.text).toBe(text);
  });
});
