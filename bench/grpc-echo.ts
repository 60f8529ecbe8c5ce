// The bench's gRPC service: one unary method whose messages are raw bytes (no .proto needed), for its
// backend process and its load generator.
import type { ServiceDefinition } from '@grpc/grpc-js';

const bytes = (b: Buffer) => b;

export const ECHO_SERVICE: ServiceDefinition = {
  unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
};
