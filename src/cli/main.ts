/** The `koe` executable. */
import { Command, Option } from 'commander';
import { BACKEND_CHOICES } from '../backend.js';
import { packageVersion } from '../util/package-root.js';
import { registerAverage } from './commands/average.js';
import { registerEval } from './commands/eval.js';
import { registerInfo } from './commands/info.js';
import { registerListen } from './commands/listen.js';
import { registerLm } from './commands/lm.js';
import { registerTrain } from './commands/train.js';
import { registerTranscribe } from './commands/transcribe.js';
import { EXIT_FAILURE } from './common.js';

// tfjs prints a hint about tfjs-node when the cpu backend starts; koe reports its backend itself.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('koe')
    .description('koe (声): speech to text for Node.js — transcribe, dictate, train, evaluate')
    .version(packageVersion())
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (also KOE_BACKEND)').choices([...BACKEND_CHOICES, 'node']).default(undefined, 'auto: tfjs-node, else wasm, else cpu'))
    .option('-v, --verbose', 'say which backend runs and other details on stderr')
    .showHelpAfterError();
  registerTranscribe(program);
  registerEval(program);
  registerTrain(program);
  registerAverage(program);
  registerInfo(program);
  registerListen(program);
  registerLm(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`koe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_FAILURE);
  });
