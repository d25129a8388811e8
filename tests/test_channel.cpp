// tests/test_channel.cpp — weft::channel<T>: rendezvous, buffering, close,
// try_*, range-for, threads and schedulers on either side, move-only values.
#include "helpers.hpp"

#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

// Rendezvous: send() returns only once a receiver took the value.
TEST(Channel, RendezvousSendWaitsForReceiver) {
  weft::run([] {
    weft::channel<int> ch(0);
    EXPECT_EQ(ch.capacity(), 0u);
    bool sent = false;
    auto s = weft::spawn([&] {
      EXPECT_TRUE(ch.send(1));
      sent = true;
    });
    settle();
    EXPECT_FALSE(sent);
    EXPECT_EQ(ch.size(), 0u);
    EXPECT_EQ(ch.recv(), std::optional<int>(1));
    s.join();
    EXPECT_TRUE(sent);
  });
}

// Rendezvous: recv() waits for a sender.
TEST(Channel, RendezvousRecvWaitsForSender) {
  weft::run([] {
    weft::channel<std::string> ch;
    std::optional<std::string> got;
    auto r = weft::spawn([&] { got = ch.recv(); });
    settle();
    EXPECT_FALSE(got.has_value());
    EXPECT_TRUE(ch.send("hello"));
    r.join();
    EXPECT_EQ(got, std::optional<std::string>("hello"));
  });
}

// Buffered: up to capacity values are held, delivered in FIFO order.
TEST(Channel, BufferedFifo) {
  weft::run([] {
    weft::channel<int> ch(3);
    EXPECT_EQ(ch.capacity(), 3u);
    EXPECT_TRUE(ch.try_send(1));
    EXPECT_TRUE(ch.try_send(2));
    EXPECT_TRUE(ch.send(3));  // room: does not block
    EXPECT_EQ(ch.size(), 3u);
    EXPECT_FALSE(ch.try_send(4));
    EXPECT_EQ(ch.size(), 3u);
    EXPECT_EQ(ch.recv(), std::optional<int>(1));
    EXPECT_EQ(ch.try_recv(), std::optional<int>(2));
    EXPECT_EQ(ch.recv(), std::optional<int>(3));
    EXPECT_EQ(ch.size(), 0u);
    EXPECT_EQ(ch.try_recv(), std::nullopt);
  });
}

// Buffered: a sender blocks on a full channel and resumes as room appears;
// order is kept across the parked sender's hand-off.
TEST(Channel, BufferedSenderBlocksWhenFull) {
  weft::run([] {
    weft::channel<int> ch(2);
    int sent = 0;
    auto s = weft::spawn([&] {
      for (int i = 1; i <= 5; ++i) {
        EXPECT_TRUE(ch.send(i));
        ++sent;
      }
    });
    settle();
    EXPECT_EQ(sent, 2);
    EXPECT_EQ(ch.size(), 2u);
    EXPECT_EQ(ch.recv(), std::optional<int>(1));
    settle();
    EXPECT_EQ(sent, 3);
    std::vector<int> rest;
    for (int i = 0; i < 4; ++i) rest.push_back(*ch.recv());
    s.join();
    EXPECT_EQ(rest, (std::vector<int>{2, 3, 4, 5}));
  });
}

// try_send / try_recv on a rendezvous channel succeed only with a parked
// partner.
TEST(Channel, TryOpsOnRendezvous) {
  weft::run([] {
    weft::channel<int> ch;
    EXPECT_FALSE(ch.try_send(1));
    EXPECT_EQ(ch.try_recv(), std::nullopt);
    std::optional<int> got;
    auto r = weft::spawn([&] { got = ch.recv(); });
    settle();
    EXPECT_TRUE(ch.try_send(7));
    r.join();
    EXPECT_EQ(got, std::optional<int>(7));
    auto s = weft::spawn([&] { EXPECT_TRUE(ch.send(8)); });
    settle();
    EXPECT_EQ(ch.try_recv(), std::optional<int>(8));
    s.join();
  });
}

// close(): buffered values drain, then recv gives nullopt; send and try_send
// give false; close is idempotent.
TEST(Channel, CloseDrainsThenEnds) {
  weft::run([] {
    weft::channel<int> ch(4);
    ch.send(1);
    ch.send(2);
    EXPECT_FALSE(ch.closed());
    ch.close();
    ch.close();
    EXPECT_TRUE(ch.closed());
    EXPECT_FALSE(ch.send(3));
    EXPECT_FALSE(ch.try_send(3));
    EXPECT_EQ(ch.size(), 2u);
    EXPECT_EQ(ch.recv(), std::optional<int>(1));
    EXPECT_EQ(ch.try_recv(), std::optional<int>(2));
    EXPECT_EQ(ch.recv(), std::nullopt);
    EXPECT_EQ(ch.try_recv(), std::nullopt);
    EXPECT_EQ(ch.recv(), std::nullopt);
  });
}

// close() wakes every parked receiver with nullopt.
TEST(Channel, CloseWakesReceivers) {
  weft::run([] {
    weft::channel<int> ch;
    int ended = 0;
    std::vector<weft::fiber<>> rs;
    for (int i = 0; i < 3; ++i)
      rs.push_back(weft::spawn([&] {
        EXPECT_EQ(ch.recv(), std::nullopt);
        ++ended;
      }));
    settle();
    EXPECT_EQ(ended, 0);
    ch.close();
    for (auto& r : rs) r.join();
    EXPECT_EQ(ended, 3);
  });
}

// close() wakes every parked sender with false; their values are dropped.
TEST(Channel, CloseWakesSenders) {
  weft::run([] {
    weft::channel<int> ch(1);
    ch.send(0);
    int failed = 0;
    std::vector<weft::fiber<>> ss;
    for (int i = 1; i <= 3; ++i)
      ss.push_back(weft::spawn([&, i] {
        if (!ch.send(i)) ++failed;
      }));
    settle();
    EXPECT_EQ(failed, 0);
    ch.close();
    for (auto& s : ss) s.join();
    EXPECT_EQ(failed, 3);
    EXPECT_EQ(ch.recv(), std::optional<int>(0));
    EXPECT_EQ(ch.recv(), std::nullopt);
  });
}

// Range-for receives every value until the channel is closed and drained.
TEST(Channel, RangeFor) {
  weft::run([] {
    weft::channel<int> ch(8);
    auto p = weft::spawn([&] {
      for (int i = 0; i < 100; ++i) ch.send(i);
      ch.close();
    });
    std::vector<int> got;
    for (int v : ch) got.push_back(v);
    p.join();
    std::vector<int> want(100);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(got, want);
  });
}

// Move-only values pass through rendezvous and buffered channels; a failed
// try_send leaves the value with the caller.
TEST(Channel, MoveOnlyValues) {
  weft::run([] {
    weft::channel<std::unique_ptr<int>> rv;
    auto s = weft::spawn([&] { EXPECT_TRUE(rv.send(std::make_unique<int>(5))); });
    auto got = rv.recv();
    ASSERT_TRUE(got && *got);
    EXPECT_EQ(**got, 5);
    s.join();

    weft::channel<std::unique_ptr<int>> buf(1);
    EXPECT_TRUE(buf.try_send(std::make_unique<int>(6)));
    auto keep = std::make_unique<int>(7);
    EXPECT_FALSE(buf.try_send(std::move(keep)));
    ASSERT_TRUE(keep);  // not moved from on failure
    EXPECT_EQ(*keep, 7);
    auto six = buf.recv();
    ASSERT_TRUE(six && *six);
    EXPECT_EQ(**six, 6);
    EXPECT_TRUE(buf.try_send(std::move(keep)));
    EXPECT_FALSE(keep);
    EXPECT_EQ(**buf.recv(), 7);
  });
}

// Several producers and consumers: every value arrives exactly once.
TEST(Channel, ManyProducersManyConsumers) {
  weft::run([] {
    constexpr int kP = 4, kC = 4, kEach = 1000;
    weft::channel<int> ch(3);
    std::vector<int> seen(kP * kEach, 0);
    std::vector<weft::fiber<>> ps, cs;
    for (int p = 0; p < kP; ++p)
      ps.push_back(weft::spawn([&, p] {
        for (int i = 0; i < kEach; ++i) ch.send(p * kEach + i);
      }));
    for (int c = 0; c < kC; ++c)
      cs.push_back(weft::spawn([&] {
        while (auto v = ch.recv()) ++seen[*v];
      }));
    for (auto& p : ps) p.join();
    ch.close();
    for (auto& c : cs) c.join();
    for (int i = 0; i < kP * kEach; ++i) ASSERT_EQ(seen[i], 1) << "value " << i;
  });
}

// A plain std::thread sends to a fiber, rendezvous and buffered.
TEST(Channel, StdThreadSenderFiberReceiver) {
  for (std::size_t cap : {std::size_t{0}, std::size_t{16}}) {
    weft::channel<int> ch(cap);
    std::vector<int> got;
    std::thread sender;
    weft::run([&] {
      sender = std::thread([&] {
        for (int i = 0; i < 2000; ++i) EXPECT_TRUE(ch.send(i));
        ch.close();
      });
      for (int v : ch) got.push_back(v);
    });
    sender.join();
    ASSERT_EQ(got.size(), 2000u) << "capacity " << cap;
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(got[i], i);
  }
}

// A fiber sends to a plain thread that blocks in recv().
TEST(Channel, FiberSenderPlainThreadReceiver) {
  weft::channel<int> ch;
  long sum = 0;
  std::thread runner([&] {
    weft::run([&] {
      for (int i = 1; i <= 500; ++i) ch.send(i);
      ch.close();
    });
  });
  while (auto v = ch.recv()) sum += *v;
  runner.join();
  EXPECT_EQ(sum, 500L * 501 / 2);
}

// Fibers on two run() threads ping-pong over two channels.
TEST(Channel, FiberToFiberAcrossTwoRunThreads) {
  constexpr int kRounds = 2000;
  weft::channel<int> ping, pong;
  int last = -1;
  std::thread a([&] {
    weft::run([&] {
      for (int i = 0; i < kRounds; ++i) {
        ping.send(i);
        auto r = pong.recv();
        if (!r || *r != i + 1) {
          ADD_FAILURE() << "round " << i << ": bad echo";
          break;
        }
        last = *r;
      }
      ping.close();
    });
  });
  std::thread b([&] {
    weft::run([&] {
      auto echo = weft::spawn([&] {
        while (auto v = ping.recv()) pong.send(*v + 1);
      });
      echo.join();
    });
  });
  a.join();
  b.join();
  EXPECT_EQ(last, kRounds);
}

// A fiber parked in recv() on one scheduler is woken by a close() from a
// plain thread.
TEST(Channel, CloseFromOtherThreadWakesFiber) {
  weft::channel<int> ch;
  std::thread closer;
  bool ended = weft::run([&] {
    closer = std::thread([&] {
      weft::this_fiber::sleep_for(20ms);
      ch.close();
    });
    return !ch.recv().has_value();
  });
  closer.join();
  EXPECT_TRUE(ended);
}
