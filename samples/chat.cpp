// samples/chat.cpp — a line-based chat room over TCP, one fiber per client,
// broadcast through weft::channel.
//
//   chat [--port N] [--host ADDR] [--workers N] [--queue N] [--drain-ms MS]
//
// Every line a client sends goes to every other client as "NAME: line".
// Clients are named user1, user2, ... and greeted with "* you are NAME";
// joins, leaves and drops are announced as "* NAME joined" and so on.
//
// Shape: each connection fiber reads lines (plain blocking read()) and sends
// them to the room channel. The room fiber owns the member list; it hands
// each message to every member's outbox, a bounded channel (--queue lines)
// that the member's writer fiber drains with blocking write()s. The room
// only ever try_send()s (yielding once to the writers when an outbox is
// full), so a client that does not read fills its socket, then its outbox,
// and is dropped: the room never waits for anyone.
#include "common/args.hpp"
#include "common/io.hpp"
#include "common/server.hpp"

#include <weft/weft.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using line = std::shared_ptr<const std::string>;  // one message, shared by all outboxes

// One connected client. Its outbox is closed by the room only (on leave or drop).
struct client {
  int fd;
  std::string name;
  weft::channel<line> outbox;
  client(int f, std::string n, std::size_t queue) : fd(f), name(std::move(n)), outbox(queue) {}
};
using client_ptr = std::shared_ptr<client>;

// What the connection fibers tell the room.
struct event {
  enum kind { join, leave, say } k;
  client_ptr who;
  line text;  // say: the whole "NAME: text\n"
};

std::size_t queue_len = 128;           // --queue
std::atomic<unsigned long> next_id{1};  // for user names
weft::channel<event> room_events(1024);

line make_line(const std::string& s) { return std::make_shared<const std::string>(s); }

// The room: owns the member list; runs on its own fiber until cancelled.
class room {
  std::vector<client_ptr> members_;

  // drop(c) ends a member that cannot keep up: its socket is shut down
  // (waking its reader and writer) before its outbox closes.
  void drop(const client_ptr& c) {
    ::shutdown(c->fd, SHUT_RDWR);
    c->outbox.close();
  }

  // remove(c) takes c off the list; false if it was not on it.
  bool remove(const client_ptr& c) {
    auto it = std::find(members_.begin(), members_.end(), c);
    if (it == members_.end()) return false;
    members_.erase(it);
    return true;
  }

  // broadcast(msg, except) queues msg for every member but except; members
  // whose outbox is full are dropped, and their drop is announced in turn.
  void broadcast(line msg, const client* except) {
    std::vector<line> pending{std::move(msg)};
    while (!pending.empty()) {
      line m = std::move(pending.back());
      pending.pop_back();
      std::vector<client_ptr> full;
      for (const client_ptr& c : members_)
        if (c.get() != except && !c->outbox.try_send(m)) full.push_back(c);
      // A full outbox may only mean that its writer has not run yet (the
      // room can get ahead of everyone when it has many events queued):
      // yield once so that the writers run, then drop whoever is still full.
      if (!full.empty()) weft::this_fiber::yield();
      std::vector<client_ptr> slow;
      for (const client_ptr& c : full)
        if (!c->outbox.try_send(m)) slow.push_back(c);
      for (const client_ptr& c : slow) {
        remove(c);
        drop(c);
        std::printf("chat: dropped %s (send queue of %zu full)\n", c->name.c_str(), queue_len);
        std::fflush(stdout);
        pending.push_back(make_line("* " + c->name + " dropped (too slow)\n"));
      }
      except = nullptr;
    }
  }

 public:
  // run() handles events until the channel closes or the fiber is cancelled.
  void run() {
    for (event& e : room_events) {
      switch (e.k) {
        case event::join:
          members_.push_back(e.who);
          e.who->outbox.try_send(make_line("* you are " + e.who->name + "\n"));
          broadcast(make_line("* " + e.who->name + " joined\n"), e.who.get());
          break;
        case event::leave:
          if (remove(e.who)) {
            e.who->outbox.close();  // the writer sends what is queued, then ends
            broadcast(make_line("* " + e.who->name + " left\n"), nullptr);
          }
          break;
        case event::say:
          broadcast(std::move(e.text), e.who.get());
          break;
      }
    }
  }
};
room the_room;  // global: it outlives the room fiber, which weft::run cancels at its end

// write_out(c) is c's writer fiber: writes queued lines until the outbox
// closes; after a failed write it shuts the socket (so the reader ends) and
// discards the rest.
void write_out(const client_ptr& c) {
  bool ok = true;
  for (const line& l : c->outbox) {
    if (ok && !samples::write_all(c->fd, l->data(), l->size())) {
      ok = false;
      ::shutdown(c->fd, SHUT_RDWR);
    }
  }
}

// chat_client(fd) is the connection fiber: joins the room, reads lines and
// passes them on, then leaves and waits for its writer. Fiber only.
void chat_client(int fd) {
  auto c = std::make_shared<client>(fd, "user" + std::to_string(next_id++), queue_len);
  auto writer = weft::spawn([c] { write_out(c); });
  room_events.send({event::join, c, nullptr});
  char buf[4096];
  std::size_t have = 0;
  for (;;) {
    ssize_t n = samples::read_some(fd, buf + have, sizeof buf - have);  // parks this fiber
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t start = 0;
    for (std::size_t i = 0; i < have; ++i) {
      // A line ends at '\n'; one that fills the whole buffer is cut there.
      bool cut = i + 1 == sizeof buf && start == 0;
      if (buf[i] != '\n' && !cut) continue;
      std::size_t end = buf[i] == '\n' ? i : i + 1;
      if (end > start && buf[end - 1] == '\r') --end;
      if (end > start)
        room_events.send({event::say, c, make_line(c->name + ": " + std::string(buf + start, end - start) + "\n")});
      start = i + 1;
    }
    std::memmove(buf, buf + start, have - start);
    have -= start;
  }
  room_events.send({event::leave, c, nullptr});
  writer.join();  // ends once the room closed the outbox; then serve() closes fd
}

}  // namespace

int main(int argc, char** argv) {
  samples::args a(argc, argv, std::string(samples::server_usage) + " [--queue N]");
  samples::server_flags f = samples::read_server_flags(a);
  queue_len = static_cast<std::size_t>(a.num("queue", 128, 1, 1 << 20));
  a.done();
  // The room fiber lives until weft::run ends and cancels it.
  return samples::run_server("chat", f, chat_client, [] {
    weft::spawn(weft::spawn_options{.name = "room"}, [] { the_room.run(); }).detach();
  });
}
