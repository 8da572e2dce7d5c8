/** A growable flat typed array (capacity doubles): `view()` holds the `length` values written so far. */
export class Growable<T extends Float32Array | Float64Array | Uint32Array | Int32Array> {
  length = 0;
  constructor(
    public array: T,
    private readonly make: (n: number) => T,
  ) {}

  /** Makes room for `extra` more values and returns the (possibly new) backing array. */
  reserve(extra: number): T {
    if (this.length + extra > this.array.length) {
      const bigger = this.make(Math.max(2 * this.array.length, this.length + extra));
      bigger.set(this.array.subarray(0, this.length));
      this.array = bigger;
    }
    return this.array;
  }

  /** Appends one value. */
  push(value: number): void {
    this.reserve(1)[this.length++] = value;
  }

  /** The values, sharing the backing array. */
  view(): T {
    return this.array.subarray(0, this.length) as T;
  }

  /** The values in an array of their own (the backing array's spare capacity released). */
  finish(): T {
    return this.array.slice(0, this.length) as T;
  }
}
