import { errorMessage, IpxError } from '../errors.ts';

/** One request to the running `ipx watch` at listen.admin; an unreachable daemon becomes a clear error. */
export async function adminRequest(command: string, admin: string, path: string, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
  const url = `http://${admin}${path}`;
  try {
    return await fetch(url, { method, signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new IpxError('E_ADMIN', `${command}: no ipx watch answers at ${url} (${errorMessage(err)}); is it running, and is listen.admin right?`, { cause: err });
  }
}
