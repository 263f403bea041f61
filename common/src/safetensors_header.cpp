#include "safetensors_header.hpp"

#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

namespace edgefed::detail {
namespace {

using json = nlohmann::json;

// The header's grammar as states; any token that does not fit the current
// state stops the parse with a message.
enum class State {
  kStart,        // before the root '{'
  kRoot,         // in the root object: a key or '}'
  kRootValue,    // after a root key: '{' (tensor or __metadata__)
  kMeta,         // in __metadata__: a key or '}'
  kMetaValue,    // after a metadata key: a string
  kTensor,       // in a tensor entry: a key or '}'
  kTensorValue,  // after a tensor field name: its value
  kArray,        // inside "shape" or "data_offsets": integers or ']'
  kDone,         // after the root '}'
};

class HeaderSax {
 public:
  HeaderSax(size_t max_tensors, size_t max_metadata_entries, RawHeader& out)
      : max_tensors_(max_tensors), max_metadata_entries_(max_metadata_entries), out_(out) {}

  const Status& status() const { return status_; }

  bool null() { return unexpected("null"); }
  bool boolean(bool) { return unexpected("a boolean"); }
  bool number_integer(json::number_integer_t v) {
    if (v < 0) return array_value_fail("a negative number");
    return number(static_cast<uint64_t>(v));
  }
  bool number_unsigned(json::number_unsigned_t v) { return number(v); }
  bool number_float(json::number_float_t, const json::string_t&) {
    return array_value_fail("a non-integer number");
  }
  bool binary(json::binary_t&) { return unexpected("binary data"); }

  bool string(json::string_t& s) {
    if (state_ == State::kMetaValue) {
      out_.metadata.emplace(meta_key_, s);
      state_ = State::kMeta;
      return true;
    }
    if (state_ == State::kTensorValue && field_ == "dtype") {
      tensor_.dtype = s;
      state_ = State::kTensor;
      return true;
    }
    return unexpected("a string");
  }

  bool start_object(std::size_t) {
    switch (state_) {
      case State::kStart: state_ = State::kRoot; return true;
      case State::kRootValue:
        if (in_metadata_) {
          state_ = State::kMeta;
        } else {
          tensor_ = RawTensorEntry{};
          tensor_.name = root_key_;
          fields_.clear();
          state_ = State::kTensor;
        }
        return true;
      default: return unexpected("an object");
    }
  }

  bool key(json::string_t& k) {
    switch (state_) {
      case State::kRoot:
        if (!root_keys_.insert(k).second) return fail("duplicate key " + quote_name(k) + " in header");
        in_metadata_ = k == "__metadata__";
        if (!in_metadata_ && out_.tensors.size() >= max_tensors_)
          return fail("header lists more than " + std::to_string(max_tensors_) + " tensors");
        root_key_ = k;
        state_ = State::kRootValue;
        return true;
      case State::kMeta:
        if (out_.metadata.count(k)) return fail("duplicate __metadata__ key " + quote_name(k));
        if (out_.metadata.size() >= max_metadata_entries_)
          return fail("__metadata__ has more than " + std::to_string(max_metadata_entries_) + " entries");
        meta_key_ = k;
        state_ = State::kMetaValue;
        return true;
      case State::kTensor:
        if (k != "dtype" && k != "shape" && k != "data_offsets")
          return fail("tensor " + quote_name(tensor_.name) + " has unknown field " + quote_name(k) +
                      " (want dtype, shape, data_offsets)");
        if (!fields_.insert(k).second)
          return fail("tensor " + quote_name(tensor_.name) + " repeats field " + quote_name(k));
        field_ = k;
        state_ = State::kTensorValue;
        return true;
      default: return unexpected("a key");
    }
  }

  bool end_object() {
    switch (state_) {
      case State::kRoot: state_ = State::kDone; return true;
      case State::kMeta: state_ = State::kRoot; return true;
      case State::kTensor: return finish_tensor();
      default: return unexpected("'}'");
    }
  }

  bool start_array(std::size_t) {
    if (state_ == State::kTensorValue && (field_ == "shape" || field_ == "data_offsets")) {
      state_ = State::kArray;
      return true;
    }
    return unexpected("an array");
  }

  bool end_array() {
    if (state_ != State::kArray) return unexpected("']'");
    if (field_ == "data_offsets" && offsets_seen_ != 2)
      return fail("tensor " + quote_name(tensor_.name) + ": data_offsets must be [begin, end]");
    state_ = State::kTensor;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    // ex.what() starts with "[json.exception.parse_error.101] "; keep the rest.
    std::string_view what = ex.what();
    const auto close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
    return fail("header is not valid JSON near byte " + std::to_string(position) + ": " + std::string(what));
  }

 private:
  bool number(uint64_t v) {
    if (state_ != State::kArray) return unexpected("a number");
    if (field_ == "shape") {
      if (tensor_.shape.size() >= kMaxRank)
        return fail("tensor " + quote_name(tensor_.name) + " has more than " + std::to_string(kMaxRank) +
                    " dimensions");
      tensor_.shape.push_back(v);
      return true;
    }
    if (offsets_seen_ >= 2)
      return fail("tensor " + quote_name(tensor_.name) + ": data_offsets must be [begin, end]");
    (offsets_seen_++ == 0 ? tensor_.begin : tensor_.end) = v;
    return true;
  }

  bool finish_tensor() {
    for (const char* f : {"dtype", "shape", "data_offsets"})
      if (!fields_.count(f)) return fail("tensor " + quote_name(tensor_.name) + " lacks field \"" + f + "\"");
    out_.tensors.push_back(std::move(tensor_));
    offsets_seen_ = 0;
    state_ = State::kRoot;
    return true;
  }

  bool array_value_fail(const char* what) {
    if (state_ == State::kArray)
      return fail("tensor " + quote_name(tensor_.name) + ": " + field_ + " holds " + what +
                  " (want non-negative integers)");
    return unexpected(what);
  }

  // A token that the current state has no place for.
  bool unexpected(const char* what) {
    switch (state_) {
      case State::kStart: return fail("header is not a JSON object");
      case State::kRootValue:
        if (in_metadata_) return fail("__metadata__ is not an object of strings");
        return fail("tensor " + quote_name(root_key_) + " is not an object");
      case State::kMetaValue:
        return fail("__metadata__ value of " + quote_name(meta_key_) + " is " + what + ", not a string");
      case State::kTensorValue:
        return fail("tensor " + quote_name(tensor_.name) + ": field " + field_ + " has the wrong type (" + what +
                    ")");
      default: return fail(std::string("header has ") + what + " where none belongs");
    }
  }

  bool fail(std::string message) {
    if (status_.is_ok()) status_ = Status(Code::kInvalidArgument, std::move(message));
    return false;
  }

  size_t max_tensors_;
  size_t max_metadata_entries_;
  RawHeader& out_;
  Status status_;
  State state_ = State::kStart;
  std::set<std::string> root_keys_;
  bool in_metadata_ = false;
  std::string root_key_;
  std::string meta_key_;
  RawTensorEntry tensor_;
  std::set<std::string> fields_;
  std::string field_;
  int offsets_seen_ = 0;
};

}  // namespace

Status parse_header_json(std::span<const uint8_t> header, size_t max_tensors, size_t max_metadata_entries,
                         RawHeader& out) {
  HeaderSax sax(max_tensors, max_metadata_entries, out);
  const bool ok = json::sax_parse(header.begin(), header.end(), &sax, json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (!sax.status().is_ok()) return sax.status();
  if (!ok) return Status(Code::kInvalidArgument, "header is not valid JSON");
  return Status::ok();
}

Status check_utf8(std::span<const uint8_t> s, const char* what) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const uint8_t c = s[i];
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool good = len != 0 && n - i >= len;
    for (size_t k = 1; good && k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) good = false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
    // not UTF-8 either.
    if (!good || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return Status(Code::kInvalidArgument,
                    std::string(what) + " is not valid UTF-8 (byte " + std::to_string(i) + ")");
    i += len;
  }
  return Status::ok();
}

std::string quote_name(const std::string& name) {
  constexpr size_t kMax = 64;
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict (GCC bug
  // 105329) inside libstdc++ for `"literal" + std::string&&`.
  std::string out = "'";
  if (name.size() <= kMax) return out.append(name).append("'");
  size_t cut = kMax;
  // Do not split a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<uint8_t>(name[cut]) & 0xc0) == 0x80) --cut;
  return out.append(name, 0, cut).append("...'");
}

}  // namespace edgefed::detail
