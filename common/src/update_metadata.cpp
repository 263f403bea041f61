// UpdateMetadata <-> the string map in an update's "__metadata__". The map
// comes from an untrusted file, so every field is parsed strictly and a
// failure names the key and quotes (a bounded prefix of) the bad value.
#include <cmath>

#include "decimal.hpp"
#include "edgefed/protocol.hpp"
#include "safetensors_header.hpp"

namespace edgefed {
namespace {

// Lower case only, as ModelLayout writes it: the fingerprint is compared as a
// string, so "ABC..." would never match anyway.
bool is_fingerprint(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

class Reader {
 public:
  explicit Reader(const std::map<std::string, std::string>& md) : md_(md) {}
  const Status& status() const { return status_; }

  // The value of a required key, or nullptr after recording the failure.
  const std::string* get(const char* key) {
    if (!status_.is_ok()) return nullptr;
    auto it = md_.find(key);
    if (it == md_.end()) {
      fail(key, "is missing", nullptr);
      return nullptr;
    }
    return &it->second;
  }
  void fail(const char* key, const std::string& why, const std::string* value) {
    if (!status_.is_ok()) return;
    std::string msg = std::string("update metadata.") + key + ": " + why;
    if (value) msg += ", got " + detail::quote_name(*value);
    status_ = Status(Code::kInvalidArgument, std::move(msg));
  }

  void id(const char* key, bool (*valid)(std::string_view), const char* rule, std::string& out) {
    const std::string* v = get(key);
    if (!v) return;
    if (!valid(*v)) return fail(key, rule, v);
    out = *v;
  }
  void integer(const char* key, int64_t min, int64_t& out) {
    const std::string* v = get(key);
    if (!v) return;
    const auto n = detail::parse_decimal_int(*v);
    if (!n || *n < min) return fail(key, "must be a decimal integer >= " + std::to_string(min), v);
    out = *n;
  }

 private:
  const std::map<std::string, std::string>& md_;
  Status status_;
};

}  // namespace

std::map<std::string, std::string> to_metadata(const UpdateMetadata& m) {
  std::map<std::string, std::string> md{
      {"agent_id", m.agent_id},
      {"update_id", m.update_id},
      {"base_version", std::to_string(m.base_version)},
      {"num_samples", std::to_string(m.num_samples)},
      {"train_loss", detail::format_double(m.train_loss)},
      {"encoding", std::string(enum_name(m.encoding))},
      {"layout_fingerprint", m.layout_fingerprint},
  };
  if (!m.normalizer.empty()) md["normalizer"] = m.normalizer;
  return md;
}

Result<UpdateMetadata> parse_update_metadata(const std::map<std::string, std::string>& md) {
  UpdateMetadata m;
  Reader r(md);
  r.id("agent_id", valid_agent_id, "must be 1-64 chars of [A-Za-z0-9._-] starting alphanumeric", m.agent_id);
  r.id("update_id", valid_update_id, "must be 1-128 chars of [A-Za-z0-9._:-]", m.update_id);
  r.integer("base_version", 0, m.base_version);
  r.integer("num_samples", 1, m.num_samples);
  if (const std::string* v = r.get("train_loss")) {
    const auto d = detail::parse_decimal_double(*v);
    if (!d || !std::isfinite(*d) || *d < 0) r.fail("train_loss", "must be a finite decimal number >= 0", v);
    else m.train_loss = *d;
  }
  if (const std::string* v = r.get("encoding")) {
    if (auto e = parse_enum<Encoding>(*v)) m.encoding = *e;
    else r.fail("encoding", "must be one of " + enum_choices<Encoding>(", ", ", "), v);
  }
  if (const std::string* v = r.get("layout_fingerprint")) {
    if (!is_fingerprint(*v)) r.fail("layout_fingerprint", "must be 16 lower-case hex digits", v);
    else m.layout_fingerprint = *v;
  }
  if (auto it = md.find("normalizer"); r.status().is_ok() && it != md.end()) {
    const std::string& v = it->second;
    if (v.size() > kMaxNormalizerBytes)
      r.fail("normalizer", "must be at most " + std::to_string(kMaxNormalizerBytes) + " bytes", nullptr);
    else if (v.empty() || v.front() != '{' || v.back() != '}')
      r.fail("normalizer", "must be a JSON object {\"mean\":[..],\"std\":[..]}", &v);
    else m.normalizer = v;
  }
  if (!r.status().is_ok()) return r.status();
  return m;
}

}  // namespace edgefed
