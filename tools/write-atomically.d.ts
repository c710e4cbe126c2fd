/** Writes `data` to a file of this process's own, then renames it to `file` (creating its folder). */
export function writeAtomically(file: string, data: string | Uint8Array): void;
