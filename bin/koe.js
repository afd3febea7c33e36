#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: V8 otherwise marks and sweeps on helper threads, which compete with the
// worker threads of data-parallel training for the cores (a half-batch shard ran ~1.3x slower
// when both cores trained, ~1.1x with this flag). V8 flags can only be given at process start.
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    console.error('koe: the compiled CLI is missing; run `npm run build` (or `npm install`) first.');
    process.exit(1);
  }
  throw err;
});
