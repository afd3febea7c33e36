import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../util/package-root.js';

/**
 * The compiled script of a worker in this folder, e.g. 'worker.js' (worker threads cannot run
 * TypeScript sources, e.g. under vitest, so those load the build in dist/).
 */
export function compiledWorker(script: string): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), script);
  const built = path.join(packageRoot(), 'dist', 'src', 'train', 'parallel', script);
  if (!existsSync(built)) throw new Error(`training on worker threads needs the compiled worker ${built}: run \`npm run build\``);
  return built;
}
