import { readFile } from 'node:fs/promises';

/** User plus system CPU time of a process so far (Linux /proc), in ms; undefined once it is gone. */
export async function cpuMs(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks of 10 ms.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields ? (Number(fields[11]) + Number(fields[12])) * 10 : undefined;
}
