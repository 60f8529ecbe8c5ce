// Calls the demo's gRPC service through the gateway, without grpcurl or .proto files: the demo's Greeter
// takes and returns its messages as UTF-8 text (raw bytes on the wire), so @grpc/grpc-js alone is enough.
//   node hack/grpc-call.mjs <gateway host:port> [name]     e.g. node hack/grpc-call.mjs 127.0.0.1:8080 Ada
// The call goes out as HTTP/2 cleartext (prior knowledge) with :authority grpc.example.com, the GRPCRoute's
// hostname, so the gateway routes it like a browser's Host header.
import * as grpc from '@grpc/grpc-js';

const [address, name = 'world'] = process.argv.slice(2);
if (!address) {
  console.error('usage: node hack/grpc-call.mjs <gateway host:port> [name]');
  process.exit(2);
}
const text = { serialize: (s) => Buffer.from(s, 'utf8'), deserialize: (b) => b.toString('utf8') };
const Greeter = grpc.makeGenericClientConstructor(
  {
    sayHello: { path: '/demo.Greeter/SayHello', requestStream: false, responseStream: false, requestSerialize: text.serialize, requestDeserialize: text.deserialize, responseSerialize: text.serialize, responseDeserialize: text.deserialize },
  },
  'Greeter',
);
const client = new Greeter(address, grpc.credentials.createInsecure(), { 'grpc.default_authority': process.env.GRPC_AUTHORITY ?? 'grpc.example.com' });
client.sayHello(name, { deadline: Date.now() + 10_000 }, (err, reply) => {
  client.close();
  if (err) {
    console.error(`gRPC error ${grpc.status[err.code] ?? err.code}: ${err.details}`);
    process.exit(1);
  }
  console.log(reply);
});
