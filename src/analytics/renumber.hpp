// Internal to the analytics box: the one numbering of partitions.
#pragma once

#include <cstdint>
#include <vector>

namespace tlflow::analytics::detail {

// Renumbers labels (any values < label_bound) to 0.. by decreasing size,
// then by smallest member; returns the number of parts. `largest` gets the
// size of part 0.
std::uint32_t renumber_by_size(std::vector<std::uint32_t>& label, std::uint32_t label_bound,
                               std::uint32_t* largest = nullptr);

} // namespace tlflow::analytics::detail
