// Count and checksum of a pairs CSV (`case,person` lines after a header):
// sum of case * 1000003 + person, mod 2^64, as the engines report it.
//   node csvsum.mjs FILE   ->  "COUNT SUM"
import { openSync, readSync, closeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function csvSum(path) {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 22);
  const mask = (1n << 64n) - 1n;
  let count = 0, sum = 0n, a = 0, b = 0, field = 0, header = true, acc = 0n, got;
  while ((got = readSync(fd, buf, 0, buf.length, null)) > 0) {
    for (let i = 0; i < got; i++) {
      const c = buf[i];
      if (header) { if (c === 10) header = false; continue; }
      if (c === 44) field = 1;
      else if (c === 10) {
        acc += BigInt(a) * 1000003n + BigInt(b);
        if (++count % 100000 === 0) { sum = (sum + acc) & mask; acc = 0n; }
        a = 0; b = 0; field = 0;
      } else if (c >= 48 && c <= 57) {
        if (field) b = b * 10 + (c - 48); else a = a * 10 + (c - 48);
      }
    }
  }
  closeSync(fd);
  return { count, sum: (sum + acc) & mask };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { count, sum } = csvSum(process.argv[2]);
  console.log(`${count} ${sum}`);
}
