// Fuzzes the agent's CSV reader (read_csv: header detection, comments,
// label column by index / name / "last", numeric parsing, widths, record
// cap) on a temporary file. The first byte picks the options. Oracles:
// every error has a message; an accepted store has one label per row, every
// label in [0, num_classes), every feature finite.
#include <cmath>

#include "edgefed/ml/csv_reader.hpp"
#include "fuzz_common.hpp"
#include "fuzz_file.hpp"

using namespace edgefed;
using fuzz::bug;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fuzz::TempFile file(".csv");
  if (size == 0) return 0;
  ml::CsvOptions o;
  static const char* kLabels[] = {"last", "0", "1", "label", "7", "-1", "class", "last"};
  o.label = kLabels[data[0] & 7];
  o.num_classes = (data[0] >> 3) & 3;  // 0 = max label + 1
  o.max_records = 1000;
  const std::string& path = file.write(data + 1, size - 1);
  auto s = ml::read_csv(path, o);
  if (!s) {
    if (s.status().message().empty()) bug("an error without a message");
    return 0;
  }
  if (s->features.rows() != s->size()) bug("rows and labels differ in count");
  if (s->size() == 0) bug("an empty store accepted");
  if (s->size() > o.max_records) bug("the record cap was not applied");
  if (o.num_classes > 0 && s->num_classes != o.num_classes) bug("num_classes not as configured");
  for (int32_t l : s->labels)
    if (l < 0 || l >= s->num_classes) bug("a label outside [0, num_classes)");
  for (int64_t i = 0; i < s->features.size(); ++i)
    if (!std::isfinite(s->features.data()[i])) bug("a non-finite feature accepted");
  return 0;
}
