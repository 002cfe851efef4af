// Entry point of the detached engine process (started by `sprites local start` or on demand).
// Kept free of oclif so the engine starts fast.
import { parseArgs } from 'node:util';
import { runEngine } from './main.js';
import { IsolationError, parseIsolationMode, type IsolationMode } from './isolation.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'state-file': { type: 'string' },
    port: { type: 'string', default: '0' },
    isolation: { type: 'string', default: 'auto' },
  },
});

if (!values['data-dir'] || !values['state-file']) {
  process.stderr.write('usage: engine --data-dir DIR --state-file FILE [--port N] [--isolation auto|sandbox|host]\n');
  process.exit(2);
}

let isolation: IsolationMode;
try {
  isolation = parseIsolationMode(values.isolation);
} catch (err) {
  process.stderr.write(`${(err as IsolationError).message}\n`);
  process.exit(2);
}

try {
  const { stopped } = await runEngine({
    dataDir: values['data-dir'],
    stateFile: values['state-file'],
    port: Number(values.port),
    isolation,
    onReady: (state) => process.stdout.write(`sprites engine listening on ${state.url} (pid ${state.pid})\n`),
  });
  await stopped;
  process.exit(0);
} catch (err) {
  process.stderr.write(`sprites engine failed to start: ${(err as Error).message}\n`);
  process.exit(1);
}
