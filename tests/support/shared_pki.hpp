// Test certificates made once per build tree instead of once per test
// process: CTest runs every test case as a process of its own, and making a
// fleet with the openssl CLI (deploy/certs/edgefed-certs) took 2-5 s of each.
#pragma once

#include <string>
#include <vector>

namespace edgefed::testing {

// The directory of a PKI made by running edgefed-certs with each of `steps`
// ("{dir}" stands for the directory), once per build tree, recipe and UTC
// day: under $EDGEFED_BINARY_DIR/test-pki/, shared by every test process.
// Safe when several processes ask at once (each makes its own and renames it
// into place; the first one wins). Tests must not change the files.
// Throws std::runtime_error if a step fails.
std::string shared_pki_dir(const std::string& name, const std::vector<std::vector<std::string>>& steps);

// Runs argv[0] with argv (no shell), its standard output discarded, and
// waits: the exit status, or -1 if it could not run or was killed.
int run_command(const std::vector<std::string>& argv);

}  // namespace edgefed::testing
