import { ENV } from "../../runtime/env";
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

/** The peers' handler environment with the SDK retrying at most once more than asked, so failure tests stay quick. */
export function quickRetryEnv(peers: Peers, extra: Record<string, string> = {}): Record<string, string> {
  return { ...peers.env, [ENV.bedrockMaxAttempts]: "1", ...extra };
}
