#!/usr/bin/env node
/**
 * The `edge-agents` command: `edge-agents up [options]` runs a Spin app on this host.
 */
import { parseUpArgs, USAGE } from '../cli.ts';
import { isHostError } from '../errors.ts';
import { up } from '../up.ts';

const [command, ...args] = process.argv.slice(2);
if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
  console.log(USAGE);
  process.exit(command === undefined ? 2 : 0);
}
if (command !== 'up') {
  console.error(`unknown command '${command}'\n\n${USAGE}`);
  process.exit(2);
}
if (!('Suspending' in WebAssembly)) {
  console.error(
    `edge-agents needs Node.js 24 or newer (JSPI); this is ${process.version}. Run it through npm (npm start), which uses the project's Node 24.`,
  );
  process.exit(1);
}

try {
  const options = parseUpArgs(args);
  if (options === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  const running = await up(options);
  const stop = () => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (isHostError(err)) console.error(`Error: ${err.message}`);
  else console.error(err);
  process.exit(1);
}
