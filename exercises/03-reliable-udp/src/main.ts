// Reliable file transfer over UDP: the protocol is in ../README.md.
// Run the visible tests with `npx netkata test reliable-udp`, grade with `npx netkata grade reliable-udp`.
import dgram from 'node:dgram';

const port = Number(process.env['PORT'] ?? 7000);
const filesDir = process.env['FILES_DIR'] ?? '.';

const socket = dgram.createSocket('udp4');

socket.on('message', (datagram, from) => {
  if (datagram.length < 5) return;
  const id = datagram.readUInt32BE(1);
  // TODO: stage 1: for a GET (0x01), read the file named by the rest of the datagram from
  // filesDir, send it as DATA segments (0x02, id, seq, at most 1,200 bytes), then a FIN (0x04,
  // id, number of segments, SHA-256 of the file). Answer ERROR (0x05) for a file that is not there.
  // TODO: stage 2: refuse names that are not a plain file name (no '/', no '..').
  // TODO: stage 3: keep what is not acknowledged yet (ACK, 0x03) and send it again on a timeout.
  console.log(
    `datagram of ${datagram.length} bytes, type 0x${datagram[0]!.toString(16).padStart(2, '0')}, transfer ${id}, from ${from.address}:${from.port}: not answered yet (files in ${filesDir})`,
  );
});

socket.bind(port, () => console.log(`listening on UDP port ${port}`));
