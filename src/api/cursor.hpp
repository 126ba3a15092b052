// api/cursor.hpp — opaque paging cursors: base64url (no padding) of the
// store's resume key with a tag, so a vertex cursor is refused on /edges.
// Clients must treat them as opaque; a malformed one is 400 invalid_argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tlflow/model.hpp"

namespace tlflow::api {

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

std::string vertex_cursor(const std::string& after_id);
std::optional<std::string> parse_vertex_cursor(std::string_view cursor);

// GET /communities pages accounts by id: resume after this id.
std::string community_cursor(const std::string& after_id);
std::optional<std::string> parse_community_cursor(std::string_view cursor);

// GET /search pages by (match class, weighted degree descending, id): the
// key of the last result handed out.
struct search_key {
  unsigned match = 0;        // 0 exact handle, 1 prefix, 2 substring
  std::uint64_t weight = 0;  // weighted degree
  std::string id;
};
std::string search_cursor(const search_key& after);
std::optional<search_key> parse_search_cursor(std::string_view cursor);

std::string edge_cursor(const edge_key& after);
std::optional<edge_key> parse_edge_cursor(std::string_view cursor);

} // namespace tlflow::api
