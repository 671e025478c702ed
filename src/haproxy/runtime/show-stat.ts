/** What `del server` waits for: sessions on the server and requests queued for it. */
export interface ServerLoad {
  /** `scur`: current sessions. */
  readonly sessions: number;
  /** `qcur`: requests queued for this server. */
  readonly queued: number;
}

/**
 * Pure: `show stat <backend> 4 -1` (servers of one backend, CSV) into the
 * load of each server by name. Columns are found by the header, which
 * HAProxy prints as `# pxname,svname,qcur,…`.
 */
export function parseServerLoad(csv: string): Map<string, ServerLoad> {
  const [headerLine = '', ...rows] = csv.split('\n');
  const columns = headerLine.replace(/^#\s*/, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const [svname, scur, qcur] = [at('svname'), at('scur'), at('qcur')];
  const load = new Map<string, ServerLoad>();
  if (svname < 0 || scur < 0 || qcur < 0) return load;
  for (const row of rows) {
    if (row.trim() === '' || row.startsWith('#')) continue;
    const fields = row.split(',');
    const name = fields[svname] ?? '';
    if (name === '' || name === 'BACKEND' || name === 'FRONTEND') continue;
    load.set(name, { sessions: Number(fields[scur]) || 0, queued: Number(fields[qcur]) || 0 });
  }
  return load;
}
