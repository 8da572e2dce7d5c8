/** A worker_threads Worker, as far as the threaded matvec uses it (no Node types in browser builds). */
export interface ThreadHandle {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
  unref(): void;
}
