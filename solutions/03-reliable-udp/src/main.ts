// Reliable file transfer over UDP: see README.md for the protocol.
import { startFileServer } from './server.ts';

const port = Number(process.env['PORT'] ?? 7000);
const filesDir = process.env['FILES_DIR'] ?? '.';

const server = await startFileServer({ port, filesDir });
console.log(`serving ${filesDir} on UDP port ${server.port}`);

process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
