/** Where text goes: stdout, stderr or a test's buffer (injected, never the global console). */
export interface Out {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}
