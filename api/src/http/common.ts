// Pieces every route schema uses: the error body and the selector and time parameters.
import { Type, type Static } from 'typebox';

/** Every error: 4xx for the caller's mistakes (the message says what), 5xx for ours. */
export const ErrorBody = Type.Object({ error: Type.String() });
export type ErrorBody = Static<typeof ErrorBody>;

export const SELECTOR_HELP = 'selector, e.g. cpu{service="checkout",version!="v1"}; {} selects everything (type cpu)';
export const TIME_HELP = 'now, now-1h, unix seconds, unix milliseconds or RFC 3339';

export const Selector = (description = SELECTOR_HELP) => Type.Optional(Type.String({ description }));
export const Time = (description = TIME_HELP) => Type.Optional(Type.String({ description }));

export const TimeRangeQuery = Type.Object({ from: Time(), until: Time() });
export type TimeRangeQuery = Static<typeof TimeRangeQuery>;

/** A binary body (gzipped pprof); routes send it as bytes, not JSON. */
export const BinaryBody = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary' });
