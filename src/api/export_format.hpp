// api/export_format.hpp — the graph as GraphML, GEXF, CSV or node-link JSON,
// written piece by piece from the chunks of graph_store::scan (docs/analytics.md,
// "Exports"). A writer holds no graph: begin, any number of vertex chunks,
// then any number of edge chunks, then end; each call appends to `out`.
//
// Every user string (ids, names, hashtags, locations) goes through one
// sanitiser: invalid UTF-8 and the code points XML 1.0 forbids (C0 controls
// but tab, LF and CR; U+FFFE, U+FFFF) become U+FFFD, so that any id or
// name a hostile account chose yields a well-formed document.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/model.hpp"

namespace tlflow::api {

enum class export_format { graphml, gexf, csv_nodes, csv_edges, json };

// `format` graphml|gexf|csv|json; `part` nodes|edges, required for csv and
// refused otherwise. Throws api_error(invalid_argument) naming the parameter.
export_format parse_export_format(std::string_view format, std::string_view part);
std::string_view export_format_name(export_format f);     // graphml, gexf, csv, json
std::string_view export_part_name(export_format f);       // nodes, edges, or ""
std::string_view export_content_type(export_format f);
std::string_view export_extension(export_format f);       // graphml, gexf, csv, json

// Appends `s` as valid UTF-8 with the replacements above.
void append_clean_utf8(std::string& out, std::string_view s);
// Appends `s` cleaned and escaped for XML text and attribute values (every
// one of & < > " ' escaped, so `]]>` never appears; tab, LF and CR as
// character references, so attribute values keep them).
void append_xml_escaped(std::string& out, std::string_view s);
// Appends `s` cleaned as one RFC 4180 field: quoted when it holds a comma, a
// quote, CR or LF (quotes doubled).
void append_csv_field(std::string& out, std::string_view s);
// Appends `s` cleaned as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view s);

// Node attributes from the analytics (include=pagerank,community), looked
// up per vertex id; nullopt leaves the attribute out for that vertex (an
// account the analysed graph does not hold, e.g. one created since).
struct vertex_extras {
  bool pagerank = false;
  bool community = false;
  std::function<std::optional<double>(const std::string& id)> pagerank_of;
  std::function<std::optional<std::int64_t>(const std::string& id)> community_of;
};

class export_writer {
public:
  virtual ~export_writer() = default;
  virtual void begin(std::string& out) = 0;
  virtual void vertices(const std::vector<vertex_view>& chunk, std::string& out) = 0;
  virtual void edges(const std::vector<edge>& chunk, std::string& out) = 0;
  virtual void end(std::string& out) = 0;
};

// `extras` (may be null) must outlive the writer.
std::unique_ptr<export_writer> make_export_writer(export_format f,
                                                  const vertex_extras* extras = nullptr);

} // namespace tlflow::api
