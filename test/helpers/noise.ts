/**
 * Random-looking bytes that are the same on every run: AES-128-CTR of zeros under a key made of
 * `seed`. For tests whose outcome depends on the bytes, not only on their being random: a delta's
 * 24 + 8 bits of checksum per block let two random 64 KiB chunks share a block about once in a
 * thousand (the SHA-256 then refuses the rebuilt chunk and it is fetched whole), and content-defined
 * chunk boundaries fall where the bytes put them. With fixed bytes such a test cannot fail by chance.
 */
import { createCipheriv } from 'node:crypto';

export function noise(n: number, seed: number | string): Buffer {
  const key = Buffer.alloc(16);
  key.write(String(seed));
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}
