// The SIGKILL durability loop of the server integration tests, for either
// store (kill_loop.cpp says what it checks).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace edgefed::testing::kill_loop {

// A query on the server's database: its rows, each column as text.
using SqlRows = std::function<std::vector<std::vector<std::string>>(const std::string& sql)>;

// Runs the loop against a server on `state` started with `store_flags`
// added (none: SQLite in `state`); once it stopped, `open_rows()` reads its
// database. Fails the calling test case (Catch2) on any loss.
void run(const std::string& state, const std::vector<std::string>& store_flags,
         const std::function<SqlRows()>& open_rows);

}  // namespace edgefed::testing::kill_loop
