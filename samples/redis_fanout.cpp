// samples/redis_fanout.cpp — hiredis' blocking API made concurrent by fibers.
//
//   redis_fanout --port N [--host ADDR] [--jobs N] [--pool N] [--workers N]
//
// A job is SET key value + GET key, checked; the times below count the jobs,
// not the connects. The same --jobs (1,000) jobs
// run twice against a running redis-server:
//   sequential  one after another on one connection: the blocking program
//               as it was written;
//   concurrent  one fiber per job, sharing a pool of --pool (50) connections
//               handed out through a weft::channel.
// hiredis is unchanged: its connect(), poll(), read() and write() are the
// hooked ones, so each fiber parks while its answer is on the way. Prints
// one line per run, the speed-up, and a "result:" line for tools/demo.sh;
// exits 1 if any value came back wrong.
#include "common/args.hpp"
#include "common/server.hpp"

#include <weft/weft.hpp>

#include <hiredis/hiredis.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

struct outcome {
  long ok = 0;         // jobs whose GET returned the value just SET
  std::string error;   // the first failure seen
  double ms = 0;
  long threads = 0;    // OS threads while the jobs ran
};

// connect_redis(host, port) opens one blocking connection; nullptr + message on failure.
redisContext* connect_redis(const std::string& host, long port, outcome& o) {
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout(host.c_str(), static_cast<int>(port), tv);
  if (!c || c->err) {
    o.error = std::string("connect: ") + (c ? c->errstr : "out of memory");
    if (c) redisFree(c);
    return nullptr;
  }
  return c;
}

// job(c, key, value, o) does SET + GET on c and checks the value. Any thread or fiber.
void job(redisContext* c, const std::string& key, const std::string& value, outcome& o) {
  auto* set = static_cast<redisReply*>(redisCommand(c, "SET %b %b", key.data(), key.size(), value.data(), value.size()));
  bool set_ok = set && set->type == REDIS_REPLY_STATUS && std::strcmp(set->str, "OK") == 0;
  if (set) freeReplyObject(set);
  auto* get = set_ok ? static_cast<redisReply*>(redisCommand(c, "GET %b", key.data(), key.size())) : nullptr;
  bool good = get && get->type == REDIS_REPLY_STRING && std::string(get->str, get->len) == value;
  if (good) ++o.ok;
  else if (o.error.empty())
    o.error = c->err ? std::string("redis: ") + c->errstr : "wrong value for " + key;
  if (get) freeReplyObject(get);
}

std::string key_of(const char* run, long i) { return "weft:fanout:" + std::string(run) + ":" + std::to_string(i); }
std::string value_of(const char* run, long i, long nonce) {
  return std::string(run) + "-value-" + std::to_string(i) + "-" + std::to_string(nonce);
}

// sequential(...) runs the jobs one after another on one connection. Fiber.
outcome sequential(const std::string& host, long port, long jobs, long nonce) {
  outcome o;
  redisContext* c = connect_redis(host, port, o);
  if (!c) return o;
  auto t0 = clk::now();
  o.threads = samples::os_threads();
  for (long i = 0; i < jobs; ++i) job(c, key_of("seq", i), value_of("seq", i, nonce), o);
  redisFree(c);
  o.ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
  return o;
}

// concurrent(...) runs one fiber per job over a pool of connections. Fiber.
outcome concurrent(const std::string& host, long port, long jobs, long pool_size, long nonce) {
  outcome o;
  clk::time_point t0 = clk::now();
  weft::channel<redisContext*> pool(static_cast<std::size_t>(pool_size));  // the idle connections
  std::vector<redisContext*> all;
  for (long i = 0; i < pool_size; ++i) {
    redisContext* c = connect_redis(host, port, o);
    if (!c) break;
    all.push_back(c);
    pool.send(c);
  }
  if (all.size() == static_cast<std::size_t>(pool_size)) {
    t0 = clk::now();
    weft::wait_group done;
    done.add(static_cast<int>(jobs));
    for (long i = 0; i < jobs; ++i) {
      weft::spawn([&, i] {
        redisContext* c = *pool.recv();  // waits for an idle connection
        job(c, key_of("conc", i), value_of("conc", i, nonce), o);
        pool.send(c);
        done.done();
      }).detach();
    }
    o.threads = samples::os_threads();
    done.wait();
  }
  o.ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
  for (redisContext* c : all) redisFree(c);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  samples::args a(argc, argv, "--port N [--host ADDR] [--jobs N] [--pool N] [--workers N]");
  const long port = a.num("port", 0, 1, 65535);
  const std::string host = a.str("host", "127.0.0.1");
  const long jobs = a.num("jobs", 1000, 1, 1000000);
  const long pool = a.num("pool", 50, 1, 10000);
  const long workers = a.num("workers", 1, 1, 1024);
  a.done();
  if (port == 0) {
    std::fprintf(stderr, "redis_fanout: --port of a running redis-server is required\n");
    return 2;
  }
  const long nonce = static_cast<long>(::getpid()) * 1000003L + clk::now().time_since_epoch().count() % 1000003L;
  outcome seq, conc;
  try {
    weft::run(samples::run_config(workers), [&] {
      seq = sequential(host, port, jobs, nonce);
      conc = concurrent(host, port, jobs, pool, nonce);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis_fanout: %s\n", e.what());
    return 1;
  }
  std::printf("redis_fanout: sequential, 1 connection: %ld jobs (SET+GET) in %.1f ms, %ld/%ld values checked\n", jobs,
              seq.ms, seq.ok, jobs);
  std::printf("redis_fanout: concurrent, %ld fibers over %ld connections: %ld jobs in %.1f ms, %ld/%ld values checked, "
              "%ld OS thread(s)\n",
              jobs, pool, jobs, conc.ms, conc.ok, jobs, conc.threads);
  const double speedup = conc.ms > 0 ? seq.ms / conc.ms : 0;
  std::printf("redis_fanout: speed-up %.1fx\n", speedup);
  std::printf("result: seq_ms=%.1f conc_ms=%.1f threads=%ld speedup=%.1f ok=%ld/%ld\n", seq.ms, conc.ms, conc.threads,
              speedup, seq.ok + conc.ok, 2 * jobs);
  for (const outcome* o : {&seq, &conc})
    if (!o->error.empty()) std::fprintf(stderr, "redis_fanout: %s\n", o->error.c_str());
  return seq.ok == jobs && conc.ok == jobs ? 0 : 1;
}
