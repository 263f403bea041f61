// The inputs of `edgefed-agent predict --input FILE`:
//   idx  an IDX file of unsigned bytes (MNIST / Fashion-MNIST images,
//        gzip-compressed or plain): one row per item, scaled to [0, 1] as
//        the training data were
//   csv  one row per record of every numeric column (a header line and a
//        non-numeric first column such as a date are skipped)
// kAuto picks idx for names containing "idx" or ending in "-ubyte" /
// "-ubyte.gz", csv otherwise.
//
// Thread safety: free function. Errors: the readers' (kIo: unreadable file;
// kInvalidArgument: bad header, non-numeric value, empty file, more than
// max_rows rows).
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/enum_names.hpp"
#include "edgefed/ml/dataset.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

enum class InputFormat { kAuto, kIdx, kCsv };
inline constexpr EnumName<InputFormat> kInputFormatNames[] = {
    {InputFormat::kAuto, "auto"}, {InputFormat::kIdx, "idx"}, {InputFormat::kCsv, "csv"}};
constexpr std::span<const EnumName<InputFormat>> enum_names(InputFormat) { return kInputFormatNames; }

Result<ml::FeatureMatrix> read_predict_input(const std::string& path, InputFormat format,
                                             int64_t max_rows = 10'000'000);

}  // namespace edgefed::agent
