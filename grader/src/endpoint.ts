/** Where a test connects, or where a relay forwards to. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}
