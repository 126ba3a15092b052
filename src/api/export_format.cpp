#include "api/export_format.hpp"

#include <cstdint>
#include <cstdio>

#include "api/router.hpp"

namespace tlflow::api {
namespace {

// The vertex properties every format carries, in this order.
constexpr std::string_view vertex_keys[] = {"handle", "name", "platform", "location", "first_seen",
                                           "last_seen"};

constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD

// Decodes one UTF-8 sequence at s[i]; 0 when invalid (overlong, surrogate,
// past U+10FFFF, truncated). `cp` receives the code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t n = 0;
  std::uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Code points XML 1.0 does not allow anywhere, not even as references.
bool xml_forbidden(std::uint32_t cp) {
  return (cp < 0x20 && cp != 0x09 && cp != 0x0A && cp != 0x0D) || cp == 0xFFFE || cp == 0xFFFF;
}

// Passed for a run of printable ASCII that holds none of the caller's
// special characters (the common case, appended as one piece).
constexpr std::uint32_t plain_run = 0xFFFFFFFFu;

// Walks `s` as clean code points: f(piece, cp) for every valid, allowed
// sequence (f(run, plain_run) for runs of printable ASCII without a byte
// `special` picks), the replacement character for every other byte.
template <class Special, class F>
void each_clean(std::string_view s, Special&& special, F&& f) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i;
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c >= 0x80 || special(c)) break;
      ++j;
    }
    if (j > i) {
      f(s.substr(i, j - i), plain_run);
      i = j;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, cp);
    if (n == 0) {
      f(replacement, 0xFFFD);
      ++i;
    } else if (xml_forbidden(cp)) {
      f(replacement, 0xFFFD);
      i += n;
    } else {
      f(s.substr(i, n), cp);
      i += n;
    }
  }
}

std::optional<std::string> prop_text(const properties& props, std::string_view key) {
  auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&it->second)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&it->second)) return std::string(*b ? "true" : "false");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(it->second));
  return std::string(buf);
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The analytics attributes of one vertex, as (name, text) pairs.
template <class F>
void each_extra(const vertex_extras* x, const std::string& id, F&& f) {
  if (x == nullptr) return;
  if (x->pagerank)
    if (auto v = x->pagerank_of(id)) f("pagerank", number_text(*v));
  if (x->community)
    if (auto v = x->community_of(id)) f("community", std::to_string(*v));
}

class writer_base : public export_writer {
public:
  explicit writer_base(const vertex_extras* x) : extras_(x) {}

protected:
  bool has_pagerank() const { return extras_ != nullptr && extras_->pagerank; }
  bool has_community() const { return extras_ != nullptr && extras_->community; }
  const vertex_extras* extras_;
};

std::string joined_hashtags(const edge& e) {
  std::string out;
  for (const auto& h : e.hashtags) {
    if (!out.empty()) out += ',';
    out += h;
  }
  return out;
}

// ---- GraphML ---------------------------------------------------------------

class graphml_writer final : public writer_base {
public:
  using writer_base::writer_base;
  void begin(std::string& out) override {
    out +=
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
        "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n";
    for (auto k : vertex_keys) key(out, "node", k, "string");
    key(out, "node", "in_degree", "long");
    key(out, "node", "out_degree", "long");
    if (has_pagerank()) key(out, "node", "pagerank", "double");
    if (has_community()) key(out, "node", "community", "long");
    key(out, "edge", "kind", "string");
    key(out, "edge", "weight", "long");
    key(out, "edge", "hashtags", "string");
    key(out, "edge", "first_seen", "string");
    key(out, "edge", "last_seen", "string");
    out += "<graph id=\"tlflow\" edgedefault=\"directed\">\n";
  }
  void vertices(const std::vector<vertex_view>& chunk, std::string& out) override {
    for (const auto& v : chunk) {
      out += "<node id=\"";
      append_xml_escaped(out, v.v.id);
      out += "\">";
      for (auto k : vertex_keys)
        if (auto t = prop_text(v.v.props, k)) data(out, "v_", k, *t);
      data(out, "v_", "in_degree", std::to_string(v.in_degree));
      data(out, "v_", "out_degree", std::to_string(v.out_degree));
      each_extra(extras_, v.v.id, [&](const char* k, const std::string& t) { data(out, "v_", k, t); });
      out += "</node>\n";
    }
  }
  void edges(const std::vector<edge>& chunk, std::string& out) override {
    for (const auto& e : chunk) {
      out += "<edge source=\"";
      append_xml_escaped(out, e.key.from);
      out += "\" target=\"";
      append_xml_escaped(out, e.key.to);
      out += "\">";
      data(out, "e_", "kind", to_string(e.key.kind));
      data(out, "e_", "weight", std::to_string(e.weight));
      if (!e.hashtags.empty()) data(out, "e_", "hashtags", joined_hashtags(e));
      if (!e.first_seen.empty()) data(out, "e_", "first_seen", e.first_seen);
      if (!e.last_seen.empty()) data(out, "e_", "last_seen", e.last_seen);
      out += "</edge>\n";
    }
  }
  void end(std::string& out) override { out += "</graph>\n</graphml>\n"; }

private:
  // Key ids carry the domain (v_name, e_kind): GraphML keys share one id space.
  static void key(std::string& out, std::string_view domain, std::string_view name,
                  std::string_view type) {
    out += "<key id=\"";
    out += domain == "node" ? "v_" : "e_";
    out += name;
    out += "\" for=\"";
    out += domain;
    out += "\" attr.name=\"";
    out += name;
    out += "\" attr.type=\"";
    out += type;
    out += "\"/>\n";
  }
  static void data(std::string& out, std::string_view prefix, std::string_view name,
                   std::string_view value) {
    out += "<data key=\"";
    out += prefix;
    out += name;
    out += "\">";
    append_xml_escaped(out, value);
    out += "</data>";
  }
};

// ---- GEXF --------------------------------------------------------------------

class gexf_writer final : public writer_base {
public:
  using writer_base::writer_base;
  void begin(std::string& out) override {
    // The 1.2 draft namespace: the one NetworkX (2.x) reads and Gephi reads.
    // timeformat "date" with full dateTime values: NetworkX 2.8 fails on
    // "dateTime" (no such type in its table), the GEXF schema allows either
    // form of value with "date", and Gephi parses ISO-8601 date-times.
    out +=
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<gexf xmlns=\"http://www.gexf.net/1.2draft\" version=\"1.2\">\n"
        "<meta><creator>tlflow</creator></meta>\n"
        "<graph mode=\"dynamic\" defaultedgetype=\"directed\" timeformat=\"date\">\n"
        "<attributes class=\"node\" mode=\"static\">\n";
    for (auto k : vertex_keys) attribute(out, k, "string");
    attribute(out, "in_degree", "long");
    attribute(out, "out_degree", "long");
    if (has_pagerank()) attribute(out, "pagerank", "double");
    if (has_community()) attribute(out, "community", "long");
    out +=
        "</attributes>\n"
        "<attributes class=\"edge\" mode=\"static\">\n";
    attribute(out, "kind", "string");
    attribute(out, "hashtags", "string");
    out += "</attributes>\n<nodes>\n";
  }
  void vertices(const std::vector<vertex_view>& chunk, std::string& out) override {
    for (const auto& v : chunk) {
      out += "<node id=\"";
      append_xml_escaped(out, v.v.id);
      out += "\" label=\"";
      auto label = prop_text(v.v.props, "handle");
      append_xml_escaped(out, label && !label->empty() ? *label : v.v.id);
      out += '"';
      spell(out, prop_text(v.v.props, "first_seen"), prop_text(v.v.props, "last_seen"));
      out += "><attvalues>";
      for (auto k : vertex_keys)
        if (auto t = prop_text(v.v.props, k)) attvalue(out, k, *t);
      attvalue(out, "in_degree", std::to_string(v.in_degree));
      attvalue(out, "out_degree", std::to_string(v.out_degree));
      each_extra(extras_, v.v.id, [&](const char* k, const std::string& t) { attvalue(out, k, t); });
      out += "</attvalues></node>\n";
    }
  }
  void edges(const std::vector<edge>& chunk, std::string& out) override {
    open_edges(out);
    for (const auto& e : chunk) {
      out += "<edge id=\"";
      out += std::to_string(next_edge_++);
      out += "\" source=\"";
      append_xml_escaped(out, e.key.from);
      out += "\" target=\"";
      append_xml_escaped(out, e.key.to);
      out += "\" weight=\"";
      out += std::to_string(e.weight);
      out += '"';
      spell(out, e.first_seen.empty() ? std::nullopt : std::optional<std::string>(e.first_seen),
            e.last_seen.empty() ? std::nullopt : std::optional<std::string>(e.last_seen));
      out += "><attvalues>";
      attvalue(out, "kind", to_string(e.key.kind));
      if (!e.hashtags.empty()) attvalue(out, "hashtags", joined_hashtags(e));
      out += "</attvalues></edge>\n";
    }
  }
  void end(std::string& out) override {
    open_edges(out);
    out += "</edges>\n</graph>\n</gexf>\n";
  }

private:
  void open_edges(std::string& out) {
    if (edges_open_) return;
    edges_open_ = true;
    out += "</nodes>\n<edges>\n";
  }
  static void attribute(std::string& out, std::string_view name, std::string_view type) {
    out += "<attribute id=\"";
    out += name;
    out += "\" title=\"";
    out += name;
    out += "\" type=\"";
    out += type;
    out += "\"/>\n";
  }
  static void attvalue(std::string& out, std::string_view name, std::string_view value) {
    out += "<attvalue for=\"";
    out += name;
    out += "\" value=\"";
    append_xml_escaped(out, value);
    out += "\"/>";
  }
  static void spell(std::string& out, const std::optional<std::string>& start,
                    const std::optional<std::string>& end) {
    if (start && !start->empty()) {
      out += " start=\"";
      append_xml_escaped(out, *start);
      out += '"';
    }
    if (end && !end->empty()) {
      out += " end=\"";
      append_xml_escaped(out, *end);
      out += '"';
    }
  }

  bool edges_open_ = false;
  std::uint64_t next_edge_ = 0;
};

// ---- CSV ---------------------------------------------------------------------

class csv_nodes_writer final : public writer_base {
public:
  using writer_base::writer_base;
  void begin(std::string& out) override {
    out += "id";
    for (auto k : vertex_keys) {
      out += ',';
      out += k;
    }
    out += ",in_degree,out_degree";
    if (has_pagerank()) out += ",pagerank";
    if (has_community()) out += ",community";
    out += "\r\n";
  }
  void vertices(const std::vector<vertex_view>& chunk, std::string& out) override {
    for (const auto& v : chunk) {
      append_csv_field(out, v.v.id);
      for (auto k : vertex_keys) {
        out += ',';
        if (auto t = prop_text(v.v.props, k)) append_csv_field(out, *t);
      }
      out += ',';
      out += std::to_string(v.in_degree);
      out += ',';
      out += std::to_string(v.out_degree);
      if (has_pagerank()) {
        out += ',';
        if (auto p = extras_->pagerank_of(v.v.id)) out += number_text(*p);
      }
      if (has_community()) {
        out += ',';
        if (auto c = extras_->community_of(v.v.id)) out += std::to_string(*c);
      }
      out += "\r\n";
    }
  }
  void edges(const std::vector<edge>&, std::string&) override {}
  void end(std::string&) override {}
};

class csv_edges_writer final : public writer_base {
public:
  using writer_base::writer_base;
  void begin(std::string& out) override {
    out += "source,target,kind,weight,hashtags,first_seen,last_seen\r\n";
  }
  void vertices(const std::vector<vertex_view>&, std::string&) override {}
  void edges(const std::vector<edge>& chunk, std::string& out) override {
    for (const auto& e : chunk) {
      append_csv_field(out, e.key.from);
      out += ',';
      append_csv_field(out, e.key.to);
      out += ',';
      out += to_string(e.key.kind);
      out += ',';
      out += std::to_string(e.weight);
      out += ',';
      append_csv_field(out, joined_hashtags(e));
      out += ',';
      append_csv_field(out, e.first_seen);
      out += ',';
      append_csv_field(out, e.last_seen);
      out += "\r\n";
    }
  }
  void end(std::string&) override {}
};

// ---- node-link JSON ------------------------------------------------------------

// What networkx.node_link_graph (2.x) reads: a directed multigraph whose
// edge keys are the kinds.
class json_writer final : public writer_base {
public:
  using writer_base::writer_base;
  void begin(std::string& out) override {
    out += "{\"directed\":true,\"multigraph\":true,\"graph\":{\"name\":\"tlflow\"},\"nodes\":[";
  }
  void vertices(const std::vector<vertex_view>& chunk, std::string& out) override {
    for (const auto& v : chunk) {
      if (!first_) out += ",\n";
      first_ = false;
      out += "{\"id\":";
      append_json_string(out, v.v.id);
      for (auto k : vertex_keys) {
        if (auto t = prop_text(v.v.props, k)) {
          out += ",\"";
          out += k;
          out += "\":";
          append_json_string(out, *t);
        }
      }
      out += ",\"in_degree\":";
      out += std::to_string(v.in_degree);
      out += ",\"out_degree\":";
      out += std::to_string(v.out_degree);
      each_extra(extras_, v.v.id, [&](const char* k, const std::string& t) {
        out += ",\"";
        out += k;
        out += "\":";
        out += t;
      });
      out += '}';
    }
  }
  void edges(const std::vector<edge>& chunk, std::string& out) override {
    open_links(out);
    for (const auto& e : chunk) {
      if (!first_) out += ",\n";
      first_ = false;
      out += "{\"source\":";
      append_json_string(out, e.key.from);
      out += ",\"target\":";
      append_json_string(out, e.key.to);
      out += ",\"key\":\"";
      out += to_string(e.key.kind);
      out += "\",\"kind\":\"";
      out += to_string(e.key.kind);
      out += "\",\"weight\":";
      out += std::to_string(e.weight);
      out += ",\"hashtags\":[";
      for (std::size_t i = 0; i < e.hashtags.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, e.hashtags[i]);
      }
      out += ']';
      if (!e.first_seen.empty()) {
        out += ",\"first_seen\":";
        append_json_string(out, e.first_seen);
      }
      if (!e.last_seen.empty()) {
        out += ",\"last_seen\":";
        append_json_string(out, e.last_seen);
      }
      out += '}';
    }
  }
  void end(std::string& out) override {
    open_links(out);
    out += "]}\n";
  }

private:
  void open_links(std::string& out) {
    if (links_open_) return;
    links_open_ = true;
    first_ = true;
    out += "],\n\"links\":[";
  }
  bool first_ = true;
  bool links_open_ = false;
};

} // namespace

export_format parse_export_format(std::string_view format, std::string_view part) {
  if (format == "csv") {
    if (part == "nodes") return export_format::csv_nodes;
    if (part == "edges") return export_format::csv_edges;
    throw api_error(errc::invalid_argument, "part must be nodes or edges for format csv");
  }
  if (!part.empty())
    throw api_error(errc::invalid_argument, "part is only for format csv");
  if (format == "graphml") return export_format::graphml;
  if (format == "gexf") return export_format::gexf;
  if (format == "json") return export_format::json;
  throw api_error(errc::invalid_argument, "format must be one of graphml, gexf, csv, json");
}

std::string_view export_format_name(export_format f) {
  switch (f) {
    case export_format::graphml: return "graphml";
    case export_format::gexf: return "gexf";
    case export_format::csv_nodes:
    case export_format::csv_edges: return "csv";
    case export_format::json: return "json";
  }
  return "json";
}

std::string_view export_part_name(export_format f) {
  if (f == export_format::csv_nodes) return "nodes";
  if (f == export_format::csv_edges) return "edges";
  return "";
}

std::string_view export_content_type(export_format f) {
  switch (f) {
    case export_format::graphml: return "application/graphml+xml; charset=utf-8";
    case export_format::gexf: return "application/gexf+xml; charset=utf-8";
    case export_format::csv_nodes:
    case export_format::csv_edges: return "text/csv; charset=utf-8; header=present";
    case export_format::json: return "application/json; charset=utf-8";
  }
  return "application/octet-stream";
}

std::string_view export_extension(export_format f) { return export_format_name(f); }

void append_clean_utf8(std::string& out, std::string_view s) {
  each_clean(s, [](unsigned char) { return false; },
             [&](std::string_view piece, std::uint32_t) { out += piece; });
}

void append_xml_escaped(std::string& out, std::string_view s) {
  const auto special = [](unsigned char c) {
    return c == '&' || c == '<' || c == '>' || c == '"' || c == '\'';
  };
  each_clean(s, special, [&](std::string_view piece, std::uint32_t cp) {
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out += piece;
    }
  });
}

void append_csv_field(std::string& out, std::string_view s) {
  const bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quote) out += '"';
  each_clean(s, [](unsigned char c) { return c == '"'; }, [&](std::string_view piece, std::uint32_t cp) {
    if (cp == '"') out += '"';
    out += piece;
  });
  if (quote) out += '"';
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  const auto special = [](unsigned char c) { return c == '"' || c == '\\'; };
  each_clean(s, special, [&](std::string_view piece, std::uint32_t cp) {
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (cp != plain_run && (cp < 0x20 || cp == 0x2028 || cp == 0x2029)) {
          out += "\\u";
          out += hex[(cp >> 12) & 0xF];
          out += hex[(cp >> 8) & 0xF];
          out += hex[(cp >> 4) & 0xF];
          out += hex[cp & 0xF];
        } else {
          out += piece;
        }
    }
  });
  out += '"';
}

std::unique_ptr<export_writer> make_export_writer(export_format f, const vertex_extras* extras) {
  switch (f) {
    case export_format::graphml: return std::make_unique<graphml_writer>(extras);
    case export_format::gexf: return std::make_unique<gexf_writer>(extras);
    case export_format::csv_nodes: return std::make_unique<csv_nodes_writer>(extras);
    case export_format::csv_edges: return std::make_unique<csv_edges_writer>(extras);
    case export_format::json: return std::make_unique<json_writer>(extras);
  }
  return nullptr;
}

} // namespace tlflow::api
