// Fixture of the include check (tests/CMakeLists.txt): what an extractor may
// include. Never compiled.
#include "extract/detail.hpp"
#include "tlflow/model.hpp"
#include "util/civil_date.hpp"
#include <rapidjson/document.h>
