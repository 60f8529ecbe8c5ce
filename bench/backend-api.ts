// What the bench's backends serve, for their process (backends.ts) and the load generators that check it: the
// gRPC service (one unary method whose messages are raw bytes, no .proto needed) and the size of the bulk body.
import type { ServiceDefinition } from '@grpc/grpc-js';

const bytes = (b: Buffer) => b;

export const ECHO_SERVICE: ServiceDefinition = {
  unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
};

/** GET /big answers this many bytes. */
export const BULK_BYTES = 10 * 1024 * 1024;
