#include "wire.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "edgefed/secagg/messages.hpp"
#include "edgefed/secagg/prime_field.hpp"
#include "edgefed/sha256.hpp"

namespace edgefed::secagg::wire {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int s = 0;
      if (last && j >= 4 - pad) {
        if (c != '=') return std::nullopt;
      } else {
        s = sextet(c);
        if (s < 0) return std::nullopt;
      }
      v = v << 6 | static_cast<std::uint32_t>(s);
    }
    const std::size_t n = last ? 3 - pad : 3;
    // Canonical: the bits below the last byte are zero.
    if (n == 1 && (v & 0xffff) != 0) return std::nullopt;
    if (n == 2 && (v & 0xff) != 0) return std::nullopt;
    for (std::size_t k = 0; k < n; ++k) out.push_back(static_cast<std::uint8_t>(v >> (16 - 8 * k)));
  }
  return out;
}

void Writer::f64(double v) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  u64(bits);
}

void Writer::bytes(std::span<const std::uint8_t> b) {
  u32(static_cast<std::uint32_t>(b.size()));
  out_.insert(out_.end(), b.begin(), b.end());
}

void Writer::share(const ShamirShare& s) {
  const std::vector<std::uint8_t> w = serialize_share(s);
  out_.insert(out_.end(), w.begin(), w.end());
}

std::uint64_t Reader::get(int n) {
  if (!ok_) return 0;
  if (in_.size() - pos_ < static_cast<std::size_t>(n)) {
    fail("truncated");
    return 0;
  }
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{in_[pos_ + i]} << (8 * i);
  pos_ += n;
  return v;
}

double Reader::f64() {
  const std::uint64_t bits = u64();
  double v = 0;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

Key32 Reader::key() {
  Key32 k{};
  if (!ok_) return k;
  if (in_.size() - pos_ < k.size()) {
    fail("truncated");
    return k;
  }
  std::memcpy(k.data(), in_.data() + pos_, k.size());
  pos_ += k.size();
  return k;
}

std::vector<std::uint8_t> Reader::bytes() {
  const std::uint32_t n = u32();
  if (!ok_) return {};
  if (in_.size() - pos_ < n) {
    fail("truncated byte string");
    return {};
  }
  std::vector<std::uint8_t> b(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                              in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return b;
}

ShamirShare Reader::share() {
  if (!ok_) return {};
  if (in_.size() - pos_ < kShareWireBytes) {
    fail("truncated share");
    return {};
  }
  auto s = parse_share(in_.subspan(pos_, kShareWireBytes));
  pos_ += kShareWireBytes;
  if (!s.is_ok()) {
    fail("bad share: " + s.status().message());
    return {};
  }
  return *s;
}

std::size_t Reader::count(std::size_t min_element_bytes) {
  const std::uint32_t n = u32();
  if (!ok_) return 0;
  if (min_element_bytes > 0 && n > (in_.size() - pos_) / min_element_bytes) {
    fail("element count " + std::to_string(n) + " exceeds the remaining bytes");
    return 0;
  }
  return n;
}

std::vector<std::uint8_t> seal_snapshot(std::string_view magic, std::uint16_t version,
                                        std::span<const std::uint8_t> body) {
  std::vector<std::uint8_t> out(magic.begin(), magic.end());
  out.push_back(static_cast<std::uint8_t>(version));
  out.push_back(static_cast<std::uint8_t>(version >> 8));
  out.insert(out.end(), body.begin(), body.end());
  const auto digest = sha256(out);
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

Result<std::span<const std::uint8_t>> open_snapshot(std::span<const std::uint8_t> snapshot, std::string_view magic,
                                                    std::uint16_t version, std::string_view what) {
  const std::string name(what);
  const std::size_t head = magic.size() + 2;
  if (snapshot.size() < head + 32) {
    return Status(Code::kInvalidArgument,
                  name + " snapshot of " + std::to_string(snapshot.size()) + " bytes is too short (truncated?)");
  }
  if (!std::equal(magic.begin(), magic.end(), snapshot.begin())) {
    return Status(Code::kInvalidArgument, "not a " + name + " snapshot (wrong magic)");
  }
  const auto digest = sha256(snapshot.first(snapshot.size() - 32));
  if (!std::equal(digest.begin(), digest.end(), snapshot.end() - 32)) {
    return Status(Code::kInvalidArgument, name + " snapshot checksum mismatch (corrupt or truncated)");
  }
  const std::uint16_t v = static_cast<std::uint16_t>(snapshot[magic.size()] | snapshot[magic.size() + 1] << 8);
  if (v != version) {
    return Status(Code::kInvalidArgument,
                  name + " snapshot version " + std::to_string(v) + ", this build reads " + std::to_string(version));
  }
  return snapshot.subspan(head, snapshot.size() - head - 32);
}

bool valid_agent(AgentId id) { return id >= 1 && id < kFieldPrime; }

std::string short_dump(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

std::string ids_text(std::span<const AgentId> ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i == 8) {
      s += ", ... (" + std::to_string(ids.size()) + " in all)";
      break;
    }
    s += (i ? ", " : "") + std::to_string(ids[i]);
  }
  return "[" + s + "]";
}

JsonIn::JsonIn(const nlohmann::json& j, std::string where, std::initializer_list<std::string_view> members,
               std::string_view type)
    : j_(j), where_(std::move(where)) {
  if (!j.is_object()) {
    fail({}, "must be a JSON object, got " + short_dump(j));
    return;
  }
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (std::string_view m : members) known = known || k == m;
    if (!known) {
      fail({}, "unknown member " + short_dump(nlohmann::json(k)) + " (strict: no extra members)");
      return;
    }
  }
  for (std::string_view m : members) {
    if (!j.contains(m)) {
      fail(m, "missing");
      return;
    }
  }
  if (!type.empty()) {
    const nlohmann::json& t = j.at("type");
    if (!t.is_string() || t.get_ref<const std::string&>() != type) {
      fail("type", "must be \"" + std::string(type) + "\", got " + short_dump(t));
    }
  }
}

void JsonIn::fail(std::string_view key, const std::string& what) {
  if (!status_.is_ok()) return;
  status_ = Status(Code::kInvalidArgument, (key.empty() ? where_ : where_ + "." + std::string(key)) + ": " + what);
}

void JsonIn::adopt(const Status& nested) {
  if (status_.is_ok() && !nested.is_ok()) status_ = nested;
}

const nlohmann::json* JsonIn::find(std::string_view key) {
  if (!ok()) return nullptr;
  auto it = j_.find(key);
  if (it == j_.end()) {
    fail(key, "missing");
    return nullptr;
  }
  return &*it;
}

std::string JsonIn::item(std::string_view key, std::size_t i) const {
  return where_ + "." + std::string(key) + "[" + std::to_string(i) + "]";
}

std::uint64_t JsonIn::u64(std::string_view key, std::uint64_t min, std::uint64_t max) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return 0;
  std::uint64_t x = 0;
  if (v->is_number_unsigned()) {
    x = v->get<std::uint64_t>();
  } else if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    x = static_cast<std::uint64_t>(v->get<std::int64_t>());
  } else {
    fail(key,
         "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + short_dump(*v));
    return 0;
  }
  if (x < min || x > max) {
    fail(key,
         "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + std::to_string(x));
    return 0;
  }
  return x;
}

AgentId JsonIn::agent(std::string_view key) { return u64(key, 1, kMaxAgentId); }

std::string JsonIn::session(std::string_view key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_string() || !valid_session_id(v->get_ref<const std::string&>())) {
    fail(key, "must be a session id (1-128 of [A-Za-z0-9._:-]), got " + short_dump(*v));
    return {};
  }
  return v->get<std::string>();
}

double JsonIn::number(std::string_view key, double min_exclusive, double max_inclusive) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return 0;
  if (!v->is_number() || !std::isfinite(v->get<double>()) || !(v->get<double>() > min_exclusive) ||
      !(v->get<double>() <= max_inclusive)) {
    std::string what = "must be a finite number in (";
    what += std::to_string(min_exclusive);
    what += ", ";
    what += max_inclusive == std::numeric_limits<double>::max() ? "inf)" : std::to_string(max_inclusive) + "]";
    what += ", got ";
    what += short_dump(*v);
    fail(key, what);
    return 0;
  }
  return v->get<double>();
}

std::vector<std::uint8_t> JsonIn::b64(std::string_view key, std::size_t exact, std::size_t max) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_string()) {
    fail(key, "must be a base64 string, got " + short_dump(*v));
    return {};
  }
  const std::string& text = v->get_ref<const std::string&>();
  const std::size_t limit = exact != 0 ? exact : max;
  if (text.size() / 4 * 3 > limit + 2) {
    fail(key,
         "base64 text of " + std::to_string(text.size()) + " characters exceeds " + std::to_string(limit) + " bytes");
    return {};
  }
  auto bytes = base64_decode(text);
  if (!bytes) {
    fail(key, "must be canonical base64 (RFC 4648, padded, no whitespace)");
    return {};
  }
  if (exact != 0 && bytes->size() != exact) {
    fail(key, "must be " + std::to_string(exact) + " bytes, got " + std::to_string(bytes->size()));
    return {};
  }
  if (exact == 0 && bytes->size() > max) {
    fail(key, "must be at most " + std::to_string(max) + " bytes, got " + std::to_string(bytes->size()));
    return {};
  }
  return std::move(*bytes);
}

Key32 JsonIn::key32(std::string_view key) {
  Key32 k{};
  const std::vector<std::uint8_t> b = b64(key, kKeyBytes);
  if (b.size() == kKeyBytes) std::copy(b.begin(), b.end(), k.begin());
  return k;
}

const nlohmann::json* JsonIn::array(std::string_view key, std::size_t max) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    fail(key, "must be an array, got " + short_dump(*v));
    return nullptr;
  }
  if (v->size() > max) {
    fail(key, "has " + std::to_string(v->size()) + " items, at most " + std::to_string(max) + " allowed");
    return nullptr;
  }
  return v;
}

std::vector<AgentId> JsonIn::agents(std::string_view key, std::size_t max) {
  const nlohmann::json* a = array(key, max);
  if (a == nullptr) return {};
  std::vector<AgentId> ids;
  ids.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const nlohmann::json& v = (*a)[i];
    const std::string path = std::string(key) + "[" + std::to_string(i) + "]";
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() > 0)) {
      fail(path, "must be an agent id (an integer in [1, 2^61 - 2]), got " + short_dump(v));
      return {};
    }
    const AgentId id = v.get<std::uint64_t>();
    if (!valid_agent(id)) {
      fail(path, "must be an agent id (an integer in [1, 2^61 - 2]), got " + std::to_string(id));
      return {};
    }
    if (!ids.empty() && id <= ids.back()) {
      fail(path, "agent ids must be strictly ascending (sorted, no repeats), got " + std::to_string(id) + " after " +
                     std::to_string(ids.back()));
      return {};
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace edgefed::secagg::wire
