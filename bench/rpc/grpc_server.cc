/*
 * bench/rpc/grpc_server.cc — the gRPC C++ echo server of `cohort bench
 * rpc`: Debian's libgrpc++ with the synchronous service API (gRPC's own
 * thread pool runs the handler), cleartext HTTP/2 on an ephemeral port.
 * The handler copies the request into the response, as any gRPC C++
 * echo does: messages are owned by the framework.
 */
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <string>

#include "bench_echo.grpc.pb.h"
#include "peer.h"

namespace {

class EchoService final : public bench::Echo::Service {
  grpc::Status Echo(grpc::ServerContext *, const bench::EchoMessage *req,
                    bench::EchoMessage *resp) override {
    resp->set_payload(req->payload());
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  std::string addr = std::string(o.host) + ":" + std::to_string(o.port);
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_server: cannot listen on %s\n", addr.c_str());
    return 1;
  }
  peer_listening(port);
  server->Wait();
  return 0;
}
