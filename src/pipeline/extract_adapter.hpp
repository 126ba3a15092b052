// The pipeline's view of the extractors (src/extract/): maps a raw message's
// wire_format to extract::format and an extract::extraction to `extracted`.
#pragma once

#include "pipeline/pipeline.hpp"

namespace tlflow {

// Thread-safe (the extractors are reentrant); one call per message.
extracted extract_message(const raw_message& msg);

// extract_message as an extract_fn.
extract_fn default_extractor();

} // namespace tlflow
