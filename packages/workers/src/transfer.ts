// Which ArrayBuffers a message moves instead of copying. postMessage copies every typed array whose buffer is not in
// the transfer list (structured clone copies the whole underlying buffer, not only the view's bytes); a buffer in
// the list moves in O(1) and is detached on the sending side.

/** Buffers below this size are copied unless a view spans them whole (Node's Buffer pool: 8 KiB shared slabs). */
const SMALL_BUFFER = 64 * 1024;

/**
 * The ArrayBuffers under `value` to transfer: each typed array's (and DataView's) buffer once, however many views
 * share it (a buffer listed twice is a DataCloneError). SharedArrayBuffers are shared by postMessage, never listed.
 * A small buffer that a view covers only in part (a slice of Node's Buffer pool, which other Buffers use) is left
 * to be copied. Walks plain objects, arrays, Maps and Sets; `seen` guards against cycles.
 * @throws nothing.
 */
export function transferables(value: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      const b = v.buffer;
      if (b instanceof ArrayBuffer && !out.has(b) && b.byteLength > 0 && (b.byteLength >= SMALL_BUFFER || (v.byteOffset === 0 && v.byteLength === b.byteLength))) out.add(b);
      return;
    }
    if (v instanceof ArrayBuffer) {
      out.add(v);
      return;
    }
    if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k);
        visit(x);
      }
      return;
    }
    if (v instanceof Set || Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    for (const x of Object.values(v)) visit(x);
  };
  visit(value);
  return [...out];
}
