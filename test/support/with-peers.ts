import { startPeers, type Peers, type PeersOptions } from "../../tools/peers";

/** Starts the protocol peers before a suite's tests and stops them after it; `use` is handed them. */
export function withPeers(opts: PeersOptions, use: (peers: Peers) => void): void {
  let started: Peers | undefined;
  before(async () => {
    started = await startPeers(opts);
    use(started);
  });
  after(async () => {
    await started?.stop();
  });
}
