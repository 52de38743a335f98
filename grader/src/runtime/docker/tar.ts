/**
 * A minimal ustar writer, enough to hand a container a folder of files through Docker's
 * archive endpoint: regular files and the directories above them, owned by root, read-only.
 */
const BLOCK = 512;

function header(name: string, size: number, type: '0' | '5', mode: number, owner = 0): Buffer {
  const block = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`file name too long for the archive: ${name}`);
  nameBytes.copy(block, 0);
  const octal = (value: number, offset: number, width: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii');
  octal(mode, 100, 8);
  octal(owner, 108, 8); // uid
  octal(owner, 116, 8); // gid
  octal(size, 124, 12);
  octal(0, 136, 12); // mtime
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block.write(type, 156, 'ascii');
  block.write('ustar\x0000', 257, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** A tar of `files` (relative paths, `/`-separated), files mode 0444, directories 0555. */
export function tarOf(files: Readonly<Record<string, Uint8Array>>): Buffer {
  const parts: Buffer[] = [];
  const directories = new Set<string>();
  for (const [name, content] of Object.entries(files)) {
    if (name.startsWith('/') || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new Error(`not a plain relative path: ${name}`);
    }
    const segments = name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const directory = `${segments.slice(0, i).join('/')}/`;
      if (directories.has(directory)) continue;
      directories.add(directory);
      parts.push(header(directory, 0, '5', 0o555));
    }
    parts.push(header(name, content.length, '0', 0o444), Buffer.from(content.buffer, content.byteOffset, content.length));
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
