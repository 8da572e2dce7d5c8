// Why @physiotwin/dicom reads large stacks with a worker thread rather than libuv's thread pool:
// `node --expose-gc scripts/measure-parallel-faults.mjs`. Fills a fresh 84 MB buffer from /dev/zero in 512 KiB reads
// (the kernel faults in every page of the buffer, as when a DICOM stack is read into a new volume) three ways:
// all on the main thread; half on the main thread and half on a libuv pool thread (fs.read); half on the main thread
// and half on a worker thread (into a SharedArrayBuffer). Prints the median of 8 runs of each, in ms.
import { openSync, read, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const N = 84e6;
const CHUNK = 524288;
const zero = openSync('/dev/zero', 'r');
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads'); const fs = require('node:fs'); const z = fs.openSync('/dev/zero', 'r');
   parentPort.on('message', (m) => { const u = new Uint8Array(m.sab, m.off, m.len);
     for (let o = 0; o < m.len; o += ${CHUNK}) fs.readSync(z, u, o, Math.min(${CHUNK}, m.len - o), null);
     parentPort.postMessage(0); });`,
  { eval: true },
);

/** Synchronous reads of [from, to) on this thread, yielding to the event loop after each (so pool callbacks run). */
async function mainHalf(u, from, to) {
  for (let o = from; o < to; o += CHUNK) {
    readSync(zero, u, o, Math.min(CHUNK, to - o), null);
    await new Promise((r) => setImmediate(r));
  }
}

/** One fs.read after the other on libuv's pool, over [from, to). */
function poolHalf(u, from, to) {
  const fd = openSync('/dev/zero', 'r');
  return new Promise((resolve, reject) => {
    let o = from;
    const next = () => {
      if (o >= to) return resolve();
      const at = o;
      o += CHUNK;
      read(fd, u, at, Math.min(CHUNK, to - at), null, (e) => (e ? reject(e) : next()));
    };
    next();
  });
}

const cases = {
  'main thread only': async () => mainHalf(new Uint8Array(N), 0, N),
  'main + libuv pool thread': async () => {
    const u = new Uint8Array(N);
    await Promise.all([mainHalf(u, 0, N / 2), poolHalf(u, N / 2, N)]);
  },
  'main + worker thread': async () => {
    const sab = new SharedArrayBuffer(N);
    const done = new Promise((r) => {
      worker.once('message', r);
      worker.postMessage({ sab, off: N / 2, len: N / 2 });
    });
    await mainHalf(new Uint8Array(sab), 0, N / 2);
    await done;
  },
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < 8; r++) {
  for (const [name, run] of Object.entries(cases)) {
    globalThis.gc?.(); // free the previous buffer first: its unmapping is not what is measured
    const t = performance.now();
    await run();
    times[name].push(performance.now() - t);
  }
}
for (const [name, list] of Object.entries(times)) {
  list.sort((a, b) => a - b);
  console.log(`${name}: ${((list[3] + list[4]) / 2).toFixed(1)} ms`);
}
await worker.terminate();
