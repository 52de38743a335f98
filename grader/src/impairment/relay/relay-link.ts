import type { Endpoint } from '../../endpoint.ts';
import type { LinkControl } from '../link-control.ts';
import type { LinkSpec } from '../profile.ts';

/** What the TCP and the UDP relay share: a front endpoint and a link that changes at once. */
export interface Relay {
  readonly endpoint: Endpoint;
  readonly link: LinkSpec;
  set(link: LinkSpec): void;
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

/** The local runtime's link: every change goes to the relay, which applies it at once. */
export class RelayLink implements LinkControl {
  readonly backend = 'relay';

  constructor(private readonly relay: Relay) {}

  get profile(): LinkSpec {
    return this.relay.link;
  }

  async set(link: LinkSpec): Promise<void> {
    this.relay.set(link);
  }

  async partition(): Promise<void> {
    this.relay.partition();
  }

  async heal(): Promise<void> {
    this.relay.heal();
  }

  async stats(): Promise<undefined> {
    return undefined;
  }

  close(): Promise<void> {
    return this.relay.close();
  }
}
