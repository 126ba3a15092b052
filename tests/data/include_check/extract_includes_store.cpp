// Fixture of the include check (tests/CMakeLists.txt): an extractor that
// reaches into the memory store, against the data flow. Never compiled.
#include "extract/extract.hpp"
#include "store/memory/memory_store.hpp"
#include "util/utf8.hpp"
