// A storage fault injector for tests, in the spirit of LevelDB's fault
// Env: a SQLite VFS, registered under its own name, that delegates every
// file operation to SQLite's default (unix) VFS and fails some on command.
// Product code selects it through its ordinary seam, the VFS name
// (StoreOptions::vfs, OutboxOptions::vfs, EngineOptions::store_vfs,
// AgentConfig::outbox_vfs), so a test drives the real engine, store and
// outbox against real files:
//
//   edgefed::testing::SqliteFaultEnv env;
//   auto store = Store::open(dir, {.vfs = env.vfs_name()});
//   env.fail_syncs(1);            // the next fsync fails: SQLITE_IOERR_FSYNC
//   env.disk_full_after(0);       // every write from now on: SQLITE_FULL
//   env.clear();                  // the disk works again
//
// Faults apply to every file opened through this VFS (database, -wal,
// journals); reads, locks and the -shm mapping always work.
// Thread-safe: a test thread arms faults while the engine's writer thread
// does I/O. Lifetime: every connection opened through the VFS must be closed
// before the SqliteFaultEnv is destroyed (it unregisters the VFS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace edgefed::testing {

class SqliteFaultEnv {
 public:
  SqliteFaultEnv();  // registers "edgefed-fault-<n>", not as the default
  ~SqliteFaultEnv();
  SqliteFaultEnv(const SqliteFaultEnv&) = delete;
  SqliteFaultEnv& operator=(const SqliteFaultEnv&) = delete;

  const std::string& vfs_name() const { return name_; }

  // The next n syncs fail with SQLITE_IOERR_FSYNC (n < 0: every sync until
  // clear()). The data written before stays in the file, as after a real
  // failed fsync: only its durability is in doubt.
  void fail_syncs(int64_t n);
  // After `bytes` more bytes written (0: at once), every write fails with
  // SQLITE_FULL until clear(), as on a file system that filled up.
  void disk_full_after(int64_t bytes);
  // Ends every fault.
  void clear();

  // What happened so far (for asserting that a fault actually fired).
  int64_t syncs() const;
  int64_t failed_syncs() const;
  int64_t failed_writes() const;

  struct State;  // shared with the VFS callbacks

 private:
  std::string name_;
  std::unique_ptr<State> state_;
};

}  // namespace edgefed::testing
