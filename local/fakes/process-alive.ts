import { readFileSync } from "node:fs";

/**
 * True while a process with this id runs (EPERM: it exists, and belongs to another user). A zombie
 * does not: it has exited, and its parent has not reaped it yet (a parent blocked in a synchronous
 * wait never does).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !exitedUnreaped(pid);
}

/** Linux's /proc says `pid (name) Z …` of a zombie; elsewhere (no /proc) a zombie passes for alive. */
function exitedUnreaped(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}
