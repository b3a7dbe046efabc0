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
const closedAt: number[] = [];
const all: Promise<void>[] = [];
for (let i = 0; i < connections; i++) {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume(); // consume, so that the server's FIN is seen as 'close'
  all.push(
    new Promise<void>((resolve) => {
      socket.once('close', () => {
        closedAt.push(performance.now() - start);
        resolve();
      });
      socket.once('connect', () => undefined);
    }),
  );
  // A few at a time, so the listen backlog does not refuse them before the server sees them.
  if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 20));
}
const opened = performance.now() - start;
await new Promise((resolve) => setTimeout(resolve, 1000));
const droppedAtOnce = closedAt.filter((t) => t < opened + 1000).length;
await Promise.race([Promise.all(all), new Promise((resolve) => setTimeout(resolve, watchMs))]);
const later = closedAt.filter((t) => t >= opened + 1000).sort((a, b) => a - b);
const stillOpen = connections - closedAt.length;
const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
console.log(`connections attempted: ${connections} (opened within ${seconds(opened)})`);
console.log(`closed by the server within 1 s of opening: ${droppedAtOnce}`);
console.log(
  `closed later: ${later.length} (first at ${seconds(later[0])}, last at ${seconds(later[later.length - 1])})`,
);
console.log(`still open after ${seconds(watchMs)}: ${stillOpen}`);
console.log(`limits: ${JSON.stringify(server.limits ?? 'none (before the bounds)')}`);
await server.close();
process.exit(0);
