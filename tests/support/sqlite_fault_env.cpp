#include "sqlite_fault_env.hpp"

#include <sqlite3.h>

#include <atomic>
#include <mutex>
#include <stdexcept>

namespace edgefed::testing {

struct SqliteFaultEnv::State {
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;  // the default VFS everything delegates to
  std::mutex mu;
  int64_t syncs_to_fail = 0;   // < 0: all
  int64_t write_budget = -1;   // bytes still writable; < 0: unlimited
  int64_t syncs = 0;
  int64_t failed_syncs = 0;
  int64_t failed_writes = 0;

  // True when this sync must fail.
  bool take_sync() {
    std::lock_guard lock(mu);
    ++syncs;
    if (syncs_to_fail == 0) return false;
    if (syncs_to_fail > 0) --syncs_to_fail;
    ++failed_syncs;
    return true;
  }
  // True when a write of `amount` bytes must fail.
  bool take_write(int64_t amount) {
    std::lock_guard lock(mu);
    if (write_budget < 0) return false;
    if (amount > write_budget) {
      write_budget = 0;  // a partly possible write fails; nothing fits after it
      ++failed_writes;
      return true;
    }
    write_budget -= amount;
    return false;
  }
};

namespace {

using State = SqliteFaultEnv::State;

// The file object SQLite allocates (szOsFile bytes): our header, then the
// default VFS's own file object.
struct FaultFile {
  sqlite3_file base;
  State* state;
  sqlite3_file* real;
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }
const sqlite3_io_methods* io(sqlite3_file* f) { return real(f)->pMethods; }
State* state_of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->state; }

int f_close(sqlite3_file* f) { return io(f)->xClose(real(f)); }
int f_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) { return io(f)->xRead(real(f), buf, n, off); }
int f_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (state_of(f)->take_write(n)) return SQLITE_FULL;
  return io(f)->xWrite(real(f), buf, n, off);
}
int f_truncate(sqlite3_file* f, sqlite3_int64 size) { return io(f)->xTruncate(real(f), size); }
int f_sync(sqlite3_file* f, int flags) {
  if (state_of(f)->take_sync()) return SQLITE_IOERR_FSYNC;
  return io(f)->xSync(real(f), flags);
}
int f_file_size(sqlite3_file* f, sqlite3_int64* size) { return io(f)->xFileSize(real(f), size); }
int f_lock(sqlite3_file* f, int level) { return io(f)->xLock(real(f), level); }
int f_unlock(sqlite3_file* f, int level) { return io(f)->xUnlock(real(f), level); }
int f_check_reserved(sqlite3_file* f, int* out) { return io(f)->xCheckReservedLock(real(f), out); }
int f_file_control(sqlite3_file* f, int op, void* arg) { return io(f)->xFileControl(real(f), op, arg); }
int f_sector_size(sqlite3_file* f) { return io(f)->xSectorSize(real(f)); }
int f_device_characteristics(sqlite3_file* f) { return io(f)->xDeviceCharacteristics(real(f)); }
int f_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return io(f)->xShmMap(real(f), region, size, extend, out);
}
int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) { return io(f)->xShmLock(real(f), offset, n, flags); }
void f_shm_barrier(sqlite3_file* f) { io(f)->xShmBarrier(real(f)); }
int f_shm_unmap(sqlite3_file* f, int del) { return io(f)->xShmUnmap(real(f), del); }
int f_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) { return io(f)->xFetch(real(f), off, n, out); }
int f_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return io(f)->xUnfetch(real(f), off, p); }

// Version 3: what the unix VFS's files implement (WAL needs the shm methods).
const sqlite3_io_methods kMethods = {
    3,           f_close,        f_read,       f_write,           f_truncate,       f_sync,
    f_file_size, f_lock,         f_unlock,     f_check_reserved,  f_file_control,   f_sector_size,
    f_device_characteristics,    f_shm_map,    f_shm_lock,        f_shm_barrier,    f_shm_unmap,
    f_fetch,     f_unfetch,
};

State* state_of(sqlite3_vfs* v) { return static_cast<State*>(v->pAppData); }
sqlite3_vfs* base_of(sqlite3_vfs* v) { return state_of(v)->base; }

int v_open(sqlite3_vfs* v, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* ff = reinterpret_cast<FaultFile*>(file);
  ff->base.pMethods = nullptr;
  ff->state = state_of(v);
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  const int rc = base_of(v)->xOpen(base_of(v), name, ff->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set: mirror the real file.
  if (ff->real->pMethods != nullptr) {
    if (ff->real->pMethods->iVersion < 3) {
      ff->real->pMethods->xClose(ff->real);
      return SQLITE_CANTOPEN;
    }
    ff->base.pMethods = &kMethods;
  }
  return rc;
}
int v_delete(sqlite3_vfs* v, const char* name, int sync_dir) { return base_of(v)->xDelete(base_of(v), name, sync_dir); }
int v_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return base_of(v)->xAccess(base_of(v), name, flags, out);
}
int v_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return base_of(v)->xFullPathname(base_of(v), name, n, out);
}
void* v_dl_open(sqlite3_vfs* v, const char* name) { return base_of(v)->xDlOpen(base_of(v), name); }
void v_dl_error(sqlite3_vfs* v, int n, char* msg) { base_of(v)->xDlError(base_of(v), n, msg); }
void (*v_dl_sym(sqlite3_vfs* v, void* lib, const char* sym))(void) { return base_of(v)->xDlSym(base_of(v), lib, sym); }
void v_dl_close(sqlite3_vfs* v, void* lib) { base_of(v)->xDlClose(base_of(v), lib); }
int v_randomness(sqlite3_vfs* v, int n, char* out) { return base_of(v)->xRandomness(base_of(v), n, out); }
int v_sleep(sqlite3_vfs* v, int us) { return base_of(v)->xSleep(base_of(v), us); }
int v_current_time(sqlite3_vfs* v, double* out) { return base_of(v)->xCurrentTime(base_of(v), out); }
int v_get_last_error(sqlite3_vfs* v, int n, char* out) { return base_of(v)->xGetLastError(base_of(v), n, out); }
int v_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return base_of(v)->xCurrentTimeInt64(base_of(v), out);
}

std::atomic<int> next_env_id{0};

}  // namespace

SqliteFaultEnv::SqliteFaultEnv()
    : name_("edgefed-fault-" + std::to_string(next_env_id++)), state_(std::make_unique<State>()) {
  State& s = *state_;
  s.base = sqlite3_vfs_find(nullptr);
  if (s.base == nullptr || s.base->iVersion < 2) throw std::runtime_error("no usable default SQLite VFS");
  sqlite3_vfs& v = s.vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(FaultFile)) + s.base->szOsFile;
  v.mxPathname = s.base->mxPathname;
  v.zName = name_.c_str();
  v.pAppData = &s;
  v.xOpen = v_open;
  v.xDelete = v_delete;
  v.xAccess = v_access;
  v.xFullPathname = v_full_pathname;
  v.xDlOpen = v_dl_open;
  v.xDlError = v_dl_error;
  v.xDlSym = v_dl_sym;
  v.xDlClose = v_dl_close;
  v.xRandomness = v_randomness;
  v.xSleep = v_sleep;
  v.xCurrentTime = v_current_time;
  v.xGetLastError = v_get_last_error;
  v.xCurrentTimeInt64 = v_current_time_int64;
  if (sqlite3_vfs_register(&v, /*makeDflt=*/0) != SQLITE_OK) throw std::runtime_error("sqlite3_vfs_register failed");
}

SqliteFaultEnv::~SqliteFaultEnv() { sqlite3_vfs_unregister(&state_->vfs); }

void SqliteFaultEnv::fail_syncs(int64_t n) {
  std::lock_guard lock(state_->mu);
  state_->syncs_to_fail = n;
}

void SqliteFaultEnv::disk_full_after(int64_t bytes) {
  std::lock_guard lock(state_->mu);
  state_->write_budget = bytes < 0 ? 0 : bytes;
}

void SqliteFaultEnv::clear() {
  std::lock_guard lock(state_->mu);
  state_->syncs_to_fail = 0;
  state_->write_budget = -1;
}

int64_t SqliteFaultEnv::syncs() const {
  std::lock_guard lock(state_->mu);
  return state_->syncs;
}

int64_t SqliteFaultEnv::failed_syncs() const {
  std::lock_guard lock(state_->mu);
  return state_->failed_syncs;
}

int64_t SqliteFaultEnv::failed_writes() const {
  std::lock_guard lock(state_->mu);
  return state_->failed_writes;
}

}  // namespace edgefed::testing
