import http from 'node:http';
import type tls from 'node:tls';
import { isIP } from 'node:net';
import { ClientFailure, Exit } from './exit-codes.ts';

export interface HttpResponse {
  status: number;
  statusText: string;
  body: Buffer;
}

/** `Host: name[:port]`, the port only when not 443; an IPv6 literal in brackets (RFC 9110). */
function hostHeader(host: string, port: number): string {
  const name = isIP(host) === 6 ? `[${host}]` : host;
  return port === 443 ? name : `${name}:${port}`;
}

/**
 * GET over an established, verified TLS connection, with Node's HTTP/1.1 parser (Content-Length,
 * chunked, or until close). Only a complete response resolves: a connection that ends early is
 * "aborted" and rejects, as does silence for `idleTimeoutMs`.
 */
export function httpsGet(socket: tls.TLSSocket, host: string, port: number, target: string, idleTimeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) => {
      request.destroy();
      reject(new ClientFailure(Exit.networkOrHttp, why, { cause }));
    };
    const request = http.request({
      // The connection is ours and already verified; without an agent Node uses it as it is.
      createConnection: () => socket,
      method: 'GET',
      path: target,
      setHost: false,
      headers: { Host: hostHeader(host, port), Connection: 'close', Accept: '*/*', 'User-Agent': 'netkata-tls-client' },
    });
    request.setTimeout(idleTimeoutMs, () => fail(`no response from ${host}:${port} for ${idleTimeoutMs} ms`));
    request.on('error', (error) => fail(`HTTP: ${error.message}`, error));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => fail(`HTTP response: ${error.message}`, error));
      response.on('aborted', () => fail('the connection closed before the response was complete'));
      response.on('end', () => {
        if (!response.complete) return fail('the connection closed before the response was complete');
        resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', body: Buffer.concat(chunks) });
      });
    });
    request.end();
  });
}
