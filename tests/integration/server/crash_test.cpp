// Durability under SIGKILL with the SQLite store: the kill loop of
// kill_loop.cpp against a server whose state is the SQLite file in its
// state directory, read back with sqlite3.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../support/scratch_dir.hpp"
#include "kill_loop.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path);
  }
  ~Db() { sqlite3_close(db_); }
  // Rows of a query as strings.
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sql: ") + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

TEST_CASE("SIGKILL at random points loses no acknowledged update or telemetry record",
          "[integration][server][crash]") {
  ScratchDir dir("edgefed-crash");
  const std::string state = dir.file("state");
  kill_loop::run(state, {}, [&] {
    auto db = std::make_shared<Db>(state + "/edgefed.sqlite");
    return kill_loop::SqlRows([db](const std::string& sql) { return db->rows(sql); });
  });
}
