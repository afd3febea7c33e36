import { copyFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { saveModel } from '../../io/model-dir.js';
import { averageModels } from '../../train/average.js';
import { LM_FILE, WORD_LM_FILE } from '../../transcriber.js';
import { errorMessage, fail, startBackend } from '../common.js';

export function registerAverage(program: Command): void {
  program
    .command('average')
    .description('average the weights of model snapshots of one training run (e.g. its last epochs) into one model')
    .argument('<models...>', 'model directories, at least two (e.g. runs/my-model/epochs/epoch-*)')
    .requiredOption('-o, --out <dir>', 'output model directory')
    .addHelpText(
      'after',
      '\nThe snapshots must share architecture, vocabulary, features and normalization statistics (one run).\n' +
        'Everything but the weights comes from the last model given, including its lm.bin and word-lm.bin.\n' +
        'Snapshots come from training with keepEpochModels N in the --config.\n\n' +
        'Example:\n  koe average runs/my-model/epochs/epoch-008 runs/my-model/epochs/epoch-009 runs/my-model/epochs/epoch-010 -o runs/my-model-avg',
    )
    .action(async (dirs: string[], opts: { out: string }, cmd: Command) => {
      await startBackend(cmd);
      const averaged = await averageModels(dirs).catch((err: unknown) => fail(errorMessage(err)));
      const parameters = averaged.model.params.count;
      try {
        await saveModel(opts.out, averaged);
        const last = dirs[dirs.length - 1] as string;
        for (const file of [LM_FILE, WORD_LM_FILE]) {
          const from = path.join(last, file);
          const isFile = await stat(from).then((s) => s.isFile(), () => false);
          if (isFile && path.resolve(from) !== path.resolve(opts.out, file)) await copyFile(from, path.join(opts.out, file));
        }
      } catch (err) {
        fail(`cannot write ${opts.out}: ${errorMessage(err)}`);
      } finally {
        averaged.model.dispose();
      }
      process.stdout.write(`${opts.out}: the mean of ${dirs.length} models' weights (${parameters.toLocaleString('en-US')} parameters)\n`);
    });
}
