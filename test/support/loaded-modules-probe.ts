/**
 * Preloaded (`node --import`) into a proxy process a test starts: on SIGUSR2 it writes the URL of
 * every script V8 has compiled so far (ESM and CommonJS files alike, from the inspector's list)
 * as a JSON array to the file named by LOADED_MODULES_FILE.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

function loadedScripts(): string[] {
  const session = new Session();
  const urls: string[] = [];
  session.connect();
  // Enabling the debugger reports every script already compiled, synchronously.
  session.on('Debugger.scriptParsed', (message) => {
    if (message.params.url !== '') urls.push(message.params.url);
  });
  session.post('Debugger.enable');
  session.post('Debugger.disable');
  session.disconnect();
  return urls;
}

const target = process.env.LOADED_MODULES_FILE;
if (target !== undefined) {
  process.on('SIGUSR2', () => {
    writeFileSync(`${target}.tmp`, JSON.stringify(loadedScripts()));
    // Renamed into place, so the test never reads half a file.
    renameSync(`${target}.tmp`, target);
  });
}
