/**
 * Lets reads run together and each change run alone, in the order they arrive (a change waiting
 * holds back the reads after it, so changes are never starved).
 */
export interface ReadWriteGate {
  /** Resolves when the caller may start; call the returned function once it is done. */
  enter(kind: "read" | "change"): Promise<() => void>;
}

export function createReadWriteGate(): ReadWriteGate {
  let reading = 0;
  let changing = false;
  const waiting: { kind: "read" | "change"; start: () => void }[] = [];

  const mayStart = (kind: "read" | "change") => !changing && (kind === "read" || reading === 0);

  function startWaiting(): void {
    while (waiting.length > 0 && mayStart(waiting[0].kind)) {
      const next = waiting.shift()!;
      if (next.kind === "read") reading++;
      else changing = true;
      next.start();
    }
  }

  function leave(kind: "read" | "change"): void {
    if (kind === "read") reading--;
    else changing = false;
    startWaiting();
  }

  return {
    enter(kind) {
      return new Promise((resolve) => {
        let left = false;
        const done = () => {
          if (left) return;
          left = true;
          leave(kind);
        };
        waiting.push({ kind, start: () => resolve(done) });
        startWaiting();
      });
    },
  };
}
