#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent/link/model_cache.hpp"
#include "scratch_dir.hpp"

using namespace edgefed::agent;

TEST_CASE("model cache stores and reloads the last model atomically", "[unit]") {
  edgefed::testing::ScratchDir dir;
  ModelCache cache(dir.path());
  auto empty = cache.load();
  REQUIRE(empty.is_ok());
  CHECK_FALSE(empty->has_value());

  REQUIRE(cache.store({std::string("\0\1model", 7), "\"v1\""}).is_ok());
  auto got = cache.load();
  REQUIRE(got.is_ok());
  REQUIRE(got->has_value());
  CHECK((*got)->bytes == std::string("\0\1model", 7));
  CHECK((*got)->etag == "\"v1\"");
  struct stat st {};
  REQUIRE(::stat(cache.model_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  REQUIRE(cache.store({"model2", ""}).is_ok());  // no ETag: none kept
  got = cache.load();
  CHECK((*got)->bytes == "model2");
  CHECK((*got)->etag.empty());

  ModelCache nowhere(dir.file("missing/dir"));
  CHECK_FALSE(nowhere.store({"x", "y"}).is_ok());
}
