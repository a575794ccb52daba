/*
 * bench/rpc/grpc_client_sync.cc — the gRPC C++ synchronous client of
 * `cohort bench rpc`: per connection its own channel (a local subchannel
 * pool, so each really is its own TCP connection) and a blocking stub,
 * driven by one thread per connection (peer_run_blocking).
 */
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "bench_echo.grpc.pb.h"
#include "peer.h"

namespace {

struct Conn {
  std::unique_ptr<bench::Echo::Stub> stub;
  bench::EchoMessage req, resp;
};

void *sync_connect(const peer_opts_t *o, unsigned index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("cohort.bench.connection", static_cast<int>(index));
  std::string target = std::string(o->host) + ":" + std::to_string(o->port);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  if (!channel->WaitForConnected(deadline)) {
    std::fprintf(stderr, "grpc_client_sync: cannot connect to %s\n", target.c_str());
    return nullptr;
  }
  Conn *c = new Conn;
  c->stub = bench::Echo::NewStub(channel);
  return c;
}

int sync_call(void *conn, const uint8_t *req, size_t n) {
  Conn *c = static_cast<Conn *>(conn);
  c->req.set_payload(req, n);
  grpc::ClientContext ctx;
  grpc::Status st = c->stub->Echo(&ctx, c->req, &c->resp);
  if (!st.ok()) {
    std::fprintf(stderr, "grpc_client_sync: %s\n", st.error_message().c_str());
    return -1;
  }
  const std::string &p = c->resp.payload();
  return p.size() == n && std::memcmp(p.data(), req, n) == 0 ? 0 : -1;
}

void sync_close(void *conn) { delete static_cast<Conn *>(conn); }

}  // namespace

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  static const peer_blocking_ops_t ops = {sync_connect, sync_call, sync_close};
  return peer_run_blocking(&o, &ops);
}
