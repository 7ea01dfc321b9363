// Data loading for pages and widgets: one request at a time, cancelled when a newer one starts or
// the component goes away, its result or error kept as reactive state.
import { ApiError, describeError } from './api';

export interface LoadError {
  message: string;
  /** HTTP status when the server answered; undefined when it could not be reached. */
  status: number | undefined;
}

/**
 * The latest answer of a request that is re-run when its inputs change. Call {@link load} inside
 * an `$effect` and return what it returns, so the request is aborted when the effect re-runs:
 *
 *     const flame = new Loader<FlameTree>();
 *     $effect(() => flame.load((signal) => api.flamegraph({ query }, { signal }).then(decodeFlamebearer)));
 *
 * While a request runs, `loading` is true and `value` is still the previous answer (a page can
 * keep showing it); an error clears `value`.
 */
export class Loader<T> {
  #value = $state.raw<T | undefined>(undefined);
  #error = $state.raw<LoadError | undefined>(undefined);
  #loading = $state(false);

  get value(): T | undefined {
    return this.#value;
  }

  get error(): LoadError | undefined {
    return this.#error;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** Starts `request`; returns the function that aborts it. A request aborted by then changes nothing. */
  load(request: (signal: AbortSignal) => Promise<T>): () => void {
    const controller = new AbortController();
    const signal = controller.signal;
    this.#loading = true;
    this.#error = undefined;
    request(signal).then(
      (value) => {
        if (signal.aborted) return;
        this.#value = value;
        this.#loading = false;
      },
      (err: unknown) => {
        if (signal.aborted) return;
        // An ApiError means the server answered (with an error); anything else never got an answer.
        this.#error = { message: describeError(err), status: err instanceof ApiError ? err.status : undefined };
        this.#value = undefined;
        this.#loading = false;
      },
    );
    return () => controller.abort();
  }

  /** Forgets the last answer (its inputs are gone; a request still running was aborted by its effect). */
  reset(): void {
    this.#value = undefined;
    this.#error = undefined;
    this.#loading = false;
  }
}
