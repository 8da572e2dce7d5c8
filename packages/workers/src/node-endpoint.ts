// comlink speaks the DOM's addEventListener('message', e => e.data); worker_threads' Worker and parentPort emit
// 'message' with the data itself. No Node imports: the caller side uses it for any worker with `on`/`off`.
import type { Endpoint } from 'comlink';

/** The EventEmitter side of a worker_threads Worker or MessagePort. */
export interface NodePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
}

/** A comlink endpoint over a worker_threads port. @throws nothing. */
export function nodeEndpoint(port: NodePort): Endpoint {
  const listeners = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer),
    addEventListener: (_type: string, handler: EventListenerOrEventListenerObject) => {
      const l = (data: unknown) => {
        const event = { data } as MessageEvent;
        if (typeof handler === 'function') handler(event);
        else handler.handleEvent(event);
      };
      listeners.set(handler, l);
      port.on('message', l);
    },
    removeEventListener: (_type: string, handler: EventListenerOrEventListenerObject) => {
      const l = listeners.get(handler);
      if (l) port.off('message', l);
      listeners.delete(handler);
    },
  };
}
