// SIGKILL survival: a child process writes to the outbox in a tight loop and
// tells the parent (through a pipe) about every call that returned ok; the
// parent kills it at a random moment, reopens the outbox and checks that
// everything the child saw committed is there, nothing acknowledged came
// back, and the journal balances.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "agent/outbox/outbox.hpp"
#include "scratch_dir.hpp"

using edgefed::Result;
using edgefed::TelemetryRecord;
using edgefed::UpdateAck;
using namespace edgefed::agent;

namespace {

void say(int fd, const std::string& line) {
  const std::string l = line + "\n";
  if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) ::_exit(3);
}

// Never returns. Full sync: the strictest mode is the one under test.
[[noreturn]] void child_writer(const std::string& path, int fd, unsigned seed) {
  auto box = Outbox::open(
      {.path = path, .limits = {.max_updates = 1000, .max_telemetry = 100000, .max_bytes = 1ll << 30},
       .full_sync = true});
  if (!box) ::_exit(2);
  std::mt19937 rng(seed);
  for (int i = 0;; ++i) {
    auto id = (*box)->add_update("agent-9", i, i, [&](const std::string& uid) {
      return Result<std::string>(std::string(1000 + rng() % 5000, 'x') + uid);
    });
    if (!id) ::_exit(4);
    say(fd, "U " + *id);
    TelemetryRecord r;
    r.values["i"] = i;
    auto seq = (*box)->add_telemetry(r);
    if (!seq) ::_exit(5);
    say(fd, "T " + std::to_string(*seq));
    if (rng() % 3 == 0) {
      auto oldest = (*box)->oldest_updates(1);
      if (!oldest || oldest->empty()) ::_exit(6);
      if (!(*box)->ack_update(oldest->front().update_id, UpdateAck{1, 0, 1, false}, i).is_ok())
        ::_exit(7);
      say(fd, "A " + oldest->front().update_id);
      if (!(*box)->ack_telemetry(*seq - 1, i).is_ok()) ::_exit(8);
      say(fd, "K " + std::to_string(*seq - 1));
    }
  }
}

}  // namespace

TEST_CASE("outbox survives SIGKILL at any point", "[unit]") {
  edgefed::testing::ScratchDir dir;
  const std::string path = dir.file("outbox.db");
  std::mt19937 rng(42);
  std::set<std::string> created, acked;
  int64_t max_seq = 0, acked_through = 0;
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_writer(path, fds[1], 1000 + round);
    }
    ::close(fds[1]);
    // The kill comes 100-400 ms after the child's first committed operation
    // (not after the fork: under qemu-user, as the ARM builds run this, or
    // on a loaded machine, opening the database alone can take longer).
    std::string text;
    char buf[4096];
    pollfd first{fds[0], POLLIN, 0};
    REQUIRE(::poll(&first, 1, 30000) == 1);
    if (const ssize_t n = ::read(fds[0], buf, sizeof buf); n > 0) text.append(buf, n);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int wstatus = 0;
    REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
    REQUIRE(WIFSIGNALED(wstatus));
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, n);
    ::close(fds[0]);

    std::istringstream in(text);
    std::string op, arg;
    int lines = 0;
    while (in >> op >> arg) {
      ++lines;
      if (op == "U") {
        CHECK(created.insert(arg).second);  // ids are never reused
      } else if (op == "T") {
        CHECK(std::stoll(arg) > max_seq);  // seqs are never reused
        max_seq = std::stoll(arg);
      } else if (op == "A") {
        acked.insert(arg);
      } else if (op == "K") {
        acked_through = std::max<int64_t>(acked_through, std::stoll(arg));
      }
    }
    INFO("round " << round << ": " << lines << " committed operations");
    CHECK(lines > 0);

    OutboxOptions opts;
    opts.path = path;
    opts.limits.max_updates = 1000;
    auto box = Outbox::open(opts);
    REQUIRE(box.is_ok());
    auto pending = (*box)->oldest_updates(100000);
    REQUIRE(pending.is_ok());
    std::set<std::string> pending_ids;
    for (const auto& u : *pending) {
      pending_ids.insert(u.update_id);
      CHECK(u.body.size() > 1000);
      CHECK(u.body.substr(u.body.size() - u.update_id.size()) == u.update_id);
    }
    auto journal_acked = (*box)->acked_update_ids();
    REQUIRE(journal_acked.is_ok());
    const std::set<std::string> jacked(journal_acked->begin(), journal_acked->end());
    CHECK(jacked.size() == journal_acked->size());  // acked at most once
    for (const auto& id : created) {
      INFO(id);
      CHECK((pending_ids.count(id) + jacked.count(id)) == 1);  // not lost, not both
    }
    for (const auto& id : acked) CHECK(jacked.count(id) == 1);
    // The kill may land after a commit but before the child reported it.
    CHECK(pending_ids.size() + jacked.size() >= created.size());
    CHECK(pending_ids.size() + jacked.size() <= created.size() + 1);
    for (const auto& id : pending_ids) created.insert(id);
    for (const auto& id : jacked) acked.insert(id);

    auto recs = (*box)->oldest_telemetry(1000000, size_t{1} << 30);
    REQUIRE(recs.is_ok());
    for (const auto& r : *recs) CHECK(r.seq > acked_through);
    if (!recs->empty()) max_seq = std::max<int64_t>(max_seq, recs->back().seq);
    auto j = (*box)->journal();
    auto d = (*box)->depth();
    REQUIRE(j.is_ok());
    CHECK(j->updates_created == d->updates + j->updates_acked);
    CHECK(j->telemetry_created == d->telemetry + j->telemetry_acked);
    CHECK(j->updates_acked == static_cast<int64_t>(jacked.size()));
  }
}
