import type { LinkControl } from '../../runtime/runtime.ts';
import type { LinkSpec } from '../profile.ts';
import type { TcpRelay } from './tcp-relay.ts';

/** The local runtime's link: every change goes to the relay, which applies it at once. */
export class RelayLink implements LinkControl {
  readonly backend = 'relay';

  constructor(private readonly relay: TcpRelay) {}

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
