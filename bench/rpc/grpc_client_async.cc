/*
 * bench/rpc/grpc_client_async.cc — the gRPC C++ asynchronous client of
 * `cohort bench rpc`: one completion queue polled by one thread, one
 * channel per connection (local subchannel pool: its own TCP connection)
 * and one call in flight per connection, re-issued as soon as it
 * completes — the shape of gRPC's own async benchmark client.
 */
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_echo.grpc.pb.h"
#include "peer.h"

namespace {

struct Conn {
  unsigned index = 0;
  std::unique_ptr<bench::Echo::Stub> stub;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientAsyncResponseReader<bench::EchoMessage>> rpc;
  bench::EchoMessage req, resp;
  grpc::Status status;
  uint64_t t0 = 0;
};

void start_call(Conn *c, grpc::CompletionQueue *cq) {
  c->ctx.reset(new grpc::ClientContext);
  c->resp.Clear();
  c->t0 = peer_now_ns();
  c->rpc = c->stub->AsyncEcho(c->ctx.get(), c->req, cq);
  c->rpc->Finish(&c->resp, &c->status, c);
}

bool connect_all(const peer_opts_t &o, std::vector<Conn> &conns) {
  std::string payload(o.size, '\0');
  peer_fill(reinterpret_cast<uint8_t *>(&payload[0]), o.size);
  std::string target = std::string(o.host) + ":" + std::to_string(o.port);
  for (unsigned i = 0; i < o.conns; i++) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("cohort.bench.connection", static_cast<int>(i));
    auto ch = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "grpc_client_async: cannot connect to %s\n", target.c_str());
      return false;
    }
    conns[i].index = i;
    conns[i].stub = bench::Echo::NewStub(ch);
    conns[i].req.set_payload(payload);
  }
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  std::vector<Conn> conns(o.conns);
  if (!connect_all(o, conns)) return 1;
  grpc::CompletionQueue cq;
  peer_run_t run;
  peer_run_init(&run, &o);
  for (auto &c : conns) start_call(&c, &cq);
  unsigned in_flight = o.conns;
  double cpu0 = -1, cpu1 = -1;
  while (in_flight > 0) {
    void *tag = nullptr;
    bool ok = false;
    auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(100);
    auto st = cq.AsyncNext(&tag, &ok, deadline);
    uint64_t now = peer_now_ns();
    if (cpu0 < 0 && now >= run.t_measure_ns) cpu0 = peer_cpu_us();
    if (cpu1 < 0 && now >= run.t_end_ns) cpu1 = peer_cpu_us();
    if (st != grpc::CompletionQueue::GOT_EVENT) continue;
    Conn *c = static_cast<Conn *>(tag);
    in_flight--;
    const std::string &p = c->resp.payload();
    if (!ok || !c->status.ok() || p != c->req.payload()) {
      run.recs[c->index].errors++;
      std::fprintf(stderr, "grpc_client_async: call failed: %s\n",
                   c->status.error_message().c_str());
      continue;
    }
    peer_rec_call(&run, c->index, c->t0, now);
    if (now < run.t_end_ns) {
      start_call(c, &cq);
      in_flight++;
    }
  }
  if (cpu0 < 0) cpu0 = peer_cpu_us();
  if (cpu1 < 0) cpu1 = peer_cpu_us();
  uint64_t errors = 0;
  for (unsigned i = 0; i < o.conns; i++) errors += run.recs[i].errors;
  peer_run_report(&run, cpu0, cpu1);
  cq.Shutdown();
  void *tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return errors ? 1 : 0;
}
