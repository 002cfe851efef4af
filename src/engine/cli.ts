// Entry point of the detached engine process (started by `sprites local start` or on demand).
// Kept free of oclif so the engine starts fast.
import { parseArgs } from 'node:util';
import { runEngine } from './main.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'state-file': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});

if (!values['data-dir'] || !values['state-file']) {
  process.stderr.write('usage: engine --data-dir DIR --state-file FILE [--port N]\n');
  process.exit(2);
}

try {
  const { stopped } = await runEngine({
    dataDir: values['data-dir'],
    stateFile: values['state-file'],
    port: Number(values.port),
    onReady: (state) => process.stdout.write(`sprites engine listening on ${state.url} (pid ${state.pid})\n`),
  });
  await stopped;
  process.exit(0);
} catch (err) {
  process.stderr.write(`sprites engine failed to start: ${(err as Error).message}\n`);
  process.exit(1);
}
