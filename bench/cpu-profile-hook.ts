/**
 * Preloaded (`node --import dist/bench/cpu-profile-hook.js`) into a process that bench/profile.ts
 * measures: the first SIGUSR2 starts V8's CPU profiler, the second stops it and writes the
 * profile (.cpuprofile JSON) to CPU_PROFILE_FILE, so the profile covers exactly the measured load
 * and nothing of start-up or warm-up. CPU_PROFILE_INTERVAL_US sets the sampling interval.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const target = process.env.CPU_PROFILE_FILE;
if (target !== undefined) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: Number(process.env.CPU_PROFILE_INTERVAL_US ?? 100) });
      session.post('Profiler.start');
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) throw err;
      writeFileSync(`${target}.tmp`, JSON.stringify(result.profile));
      renameSync(`${target}.tmp`, target);
    });
  });
}
