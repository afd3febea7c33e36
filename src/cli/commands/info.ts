import { stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import type { FeatureConfig } from '../../features/index.js';
import { loadModel } from '../../io/model-dir.js';
import { describeLmFile, type LmKind } from '../../lm/index.js';
import { LM_FILE, WORD_LM_FILE } from '../../transcriber.js';
import { packageVersion } from '../../util/package-root.js';
import { errorMessage, modelOption, startBackend } from '../common.js';

interface LmFileInfo {
  file: string;
  bytes: number;
  kind?: LmKind;
  order?: number;
  error?: string;
}

/** The language-model files in a model directory (lm.bin, word-lm.bin), with their kind and size. */
async function languageModels(dir: string): Promise<LmFileInfo[]> {
  const out: LmFileInfo[] = [];
  for (const file of [LM_FILE, WORD_LM_FILE]) {
    const full = path.join(dir, file);
    const bytes = await stat(full).then((s) => s.size, () => undefined);
    if (bytes === undefined) continue;
    try {
      out.push({ file, bytes, ...(await describeLmFile(full)) });
    } catch (err) {
      out.push({ file, bytes, error: errorMessage(err) });
    }
  }
  return out;
}

function describeLm(l: LmFileInfo): string {
  const size = `${(l.bytes / 1e6).toFixed(2)} MB`;
  if (l.error !== undefined) return `  ${l.file}: ${size}, unreadable (${l.error})`;
  return `  ${l.file}: ${l.kind === 'word' ? 'word' : 'character'} ${String(l.order)}-gram LM, ${size}`;
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) {
    if (f === 'model.json' || (f.startsWith('model-') && f.endsWith('.bin'))) total += (await stat(path.join(dir, f))).size;
  }
  return total;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('backend in use and a summary of the model')
    .addOption(modelOption())
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; json?: boolean }, cmd: Command) => {
      const backend = await startBackend(cmd);
      const info: Record<string, unknown> = {
        koe: packageVersion(),
        tfjs: tf.version.tfjs,
        node: process.version,
        backend: backend.name,
        backendFallbacks: backend.fallbacks,
        modelDir: path.resolve(opts.model),
        languageModels: await languageModels(opts.model),
      };
      try {
        const m = await loadModel(opts.model);
        info.model = {
          parameters: m.model.params.count,
          bytes: await directoryBytes(opts.model),
          config: m.model.config,
          features: m.features,
          training: m.training,
          ...(m.decoding ? { decoding: m.decoding } : {}),
        };
        m.model.dispose();
      } catch (err) {
        info.modelError = errorMessage(err);
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
        return;
      }
      const lines = [
        `koe ${String(info.koe)} (tfjs ${String(info.tfjs)}, node ${process.version})`,
        `backend: ${backend.name}${backend.fallbacks.length ? `  (passed over: ${backend.fallbacks.join('; ')})` : ''}`,
        `model:   ${String(info.modelDir)}`,
      ];
      if (info.model) {
        const m = info.model as { parameters: number; bytes: number; config: Record<string, unknown>; features: FeatureConfig; training: Record<string, unknown>; decoding?: Record<string, unknown> };
        const c = m.config;
        lines.push(
          `  ${m.parameters.toLocaleString('en-US')} parameters, ${(m.bytes / 1e6).toFixed(2)} MB`,
          `  encoder: ${String(c.encoderLayers)}-layer pyramidal BiLSTM, ${String(c.encoderUnits)} units/direction, time /${String(c.timeReduction)}`,
          `  attention: ${String(c.attention)} (${String(c.attentionDim)}), decoder: ${String(c.decoderUnits)}-unit LSTM over ${String(c.vocabSize)} symbols`,
        );
        const f = m.features;
        lines.push(
          `  features: ${f.numCeps} MFCCs${f.useDeltas ? ' + deltas + delta-deltas' : ''} (${f.melBands} mel bands, ${f.windowMs} ms window, ${f.hopMs} ms hop)` +
            `, cepstral mean normalization ${f.cmn === true ? 'on' : 'off'}`,
        );
        if (typeof c.ctcLayer === 'number') lines.push(`  CTC head on encoder layer ${c.ctcLayer + 1} (joint CTC-attention; --decoder ctc, --ctc-weight)`);
        const t = m.training;
        if (Object.keys(t).length > 0) {
          lines.push(
            `  trained: ${String(t.trainUtterances ?? '?')} utterances (${String(t.trainHours ?? '?')} h), ${String(t.steps ?? '?')} steps, ` +
              `validation CER ${typeof t.validCer === 'number' ? (t.validCer * 100).toFixed(2) + '%' : 'n/a'}` +
              (typeof t.validatedAtStep === 'number' && t.validatedAtStep !== t.steps ? ` (at step ${t.validatedAtStep})` : ''),
          );
          const from = t.initFrom as { model?: unknown; steps?: unknown } | undefined;
          if (from && typeof from === 'object') lines.push(`  fine-tuned from ${String(from.model)} (trained ${String(from.steps ?? '?')} steps before)`);
          if (Array.isArray(t.averagedFrom)) lines.push(`  weights averaged over ${t.averagedFrom.length} snapshots: ${t.averagedFrom.map(String).join(', ')}`);
        }
        if (m.decoding && Object.keys(m.decoding).length > 0) {
          lines.push(`  recommended decoding: ${Object.entries(m.decoding).map(([k, v]) => `${k} ${String(v)}`).join(', ')} (flags override)`);
        }
      } else {
        lines.push(`  (no model: ${String(info.modelError)})`);
      }
      lines.push(...(info.languageModels as LmFileInfo[]).map(describeLm));
      process.stdout.write(lines.join('\n') + '\n');
    });
}
