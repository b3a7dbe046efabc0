// Opens many half-open connections (TCP connected, no request sent) to a metrics server started
// with its default options, and reports how many it kept, how many it dropped at once, and when it
// closed the ones it kept. The README's "Security and failure model" section quotes these figures.
//
//   npx tsx scripts/measure-metrics-server.ts                  # 1000 connections, watched for 120 s
//   npx tsx scripts/measure-metrics-server.ts --connections 200 --watch-s 30
import { connect } from 'node:net';
import { startMetricsServer } from '../src/metrics/metrics-server.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const connections = argument('--connections', 1000);
const watchMs = argument('--watch-s', 120) * 1000;

const server = await startMetricsServer({ port: 0 });
const start = performance.now();
/** How long each connection lived, from its TCP connect to its close. */
const lifetimes: number[] = [];
const all: Promise<void>[] = [];
for (let i = 0; i < connections; i++) {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume(); // consume, so that the server's FIN is seen as 'close'
  let connectedAt = performance.now();
  socket.once('connect', () => {
    connectedAt = performance.now();
  });
  all.push(
    new Promise<void>((resolve) => {
      socket.once('close', () => {
        lifetimes.push(performance.now() - connectedAt);
        resolve();
      });
    }),
  );
  // A few at a time, so the listen backlog does not refuse them before the server sees them.
  if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 20));
}
const opened = performance.now() - start;
await Promise.race([Promise.all(all), new Promise((resolve) => setTimeout(resolve, watchMs))]);
// Dropped on accept: closed long before any timeout could run out (the accept may lag on a busy
// machine, so "at once" is anything under 5 s, half the default headers timeout).
const dropped = lifetimes.filter((ms) => ms < 5000).length;
const kept = lifetimes.filter((ms) => ms >= 5000).sort((a, b) => a - b);
const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
console.log(`connections attempted: ${connections} (opened within ${seconds(opened)})`);
console.log(`closed within 5 s of connecting (dropped on accept): ${dropped}`);
console.log(
  `kept, then closed: ${kept.length} (after ${seconds(kept[0])} to ${seconds(kept[kept.length - 1])})`,
);
console.log(`still open after ${seconds(watchMs)}: ${connections - lifetimes.length}`);
console.log(`limits: ${JSON.stringify(server.limits ?? 'none (before the bounds)')}`);
await server.close();
process.exit(0);
