// Durability under SIGKILL with the SQLite store: the kill loop of
// kill_loop.cpp against a server whose state is the SQLite file in its
// state directory, read back with sqlite3.
#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../support/scratch_dir.hpp"
#include "kill_loop.hpp"
#include "sqlite_rows.hpp"

using namespace edgefed;
using namespace edgefed::testing;

TEST_CASE("SIGKILL at random points loses no acknowledged update or telemetry record",
          "[integration][server][crash]") {
  ScratchDir dir("edgefed-crash");
  const std::string state = dir.file("state");
  kill_loop::run(state, {}, [&] {
    auto db = std::make_shared<SqliteRows>(state + "/edgefed.sqlite");
    return kill_loop::SqlRows([db](const std::string& sql) { return db->rows(sql); });
  });
}
