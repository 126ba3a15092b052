#include "api/export_routes.hpp"

#include <cstdio>

#include "analytics/engine.hpp"
#include "api/json.hpp"
#include "api/slice_params.hpp"

namespace tlflow::api {
namespace {

constexpr std::size_t file_piece = 256 << 10;

// include=: node attributes from the analytics.
export_include check_include(const std::vector<std::string>& names) {
  export_include in;
  for (const auto& n : names) {
    if (n == "pagerank") in.pagerank = true;
    else if (n == "community") in.community = true;
    else throw api_error(errc::invalid_argument, "include must be pagerank, community or both");
  }
  return in;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

std::string job_json(const export_job& j) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("id"), write_string(w, j.id);
  w.Key("state"), write_string(w, to_string(j.state));
  w.Key("format"), write_string(w, export_format_name(j.format));
  if (auto part = export_part_name(j.format); !part.empty()) w.Key("part"), write_string(w, part);
  w.Key("query"), write_string(w, j.query);
  if (j.include.any()) w.Key("include"), write_string(w, j.include.text());
  w.Key("progress"), w.Double(j.progress());
  w.Key("items"), w.Uint64(j.items);
  w.Key("created"), write_string(w, j.created);
  if (!j.finished.empty()) w.Key("finished"), write_string(w, j.finished);
  if (!j.error.empty()) w.Key("error"), write_string(w, j.error);
  if (j.state == job_state::done) {
    w.Key("bytes"), w.Uint64(j.bytes);
    w.Key("file"), write_string(w, "/exports/" + j.id + "/file");
    w.Key("file_name"), write_string(w, j.file_name());
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

// A finished job's file, 256 KiB per piece. The file stays open, so a job
// removed during the download does not cut it.
class file_producer final : public body_producer {
public:
  explicit file_producer(std::FILE* f) : f_(f) {}
  ~file_producer() override { std::fclose(f_); }
  void next(deliver_fn deliver) override {
    std::string piece(file_piece, '\0');
    const std::size_t n = std::fread(piece.data(), 1, piece.size(), f_);
    if (n == 0) {
      failed_ = std::ferror(f_) != 0;
      return deliver(std::nullopt);
    }
    piece.resize(n);
    deliver(std::move(piece));
  }
  bool failed() const override { return failed_; }

private:
  std::FILE* f_;
  bool failed_ = false;
};

// One filter of the POST /exports body as query values: a string, an
// integer, or an array of strings.
void add_filter(request& q, const char* name, const rapidjson::Value& v) {
  const std::string key = name;
  if (v.IsString()) {
    q.query.emplace(key, std::string(v.GetString(), v.GetStringLength()));
  } else if (v.IsUint64()) {
    q.query.emplace(key, std::to_string(v.GetUint64()));
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) {
      if (!e.IsString()) throw api_error(errc::invalid_argument, key + ": array of strings expected");
      q.query.emplace(key, std::string(e.GetString(), e.GetStringLength()));
    }
  } else {
    throw api_error(errc::invalid_argument, key + ": a string, an array of strings or an integer");
  }
}

} // namespace

extras_provider analytics_extras(analytics_routes& analytics) {
  return [&analytics](const slice& s, const export_include& in)
             -> result<std::shared_ptr<const vertex_extras>> {
    auto view = analytics.view(s);
    if (!view) return std::move(view).err();
    std::shared_ptr<const analytics::snapshot> snap = std::move(*view);
    auto x = std::make_shared<vertex_extras>();
    x->pagerank = in.pagerank;
    x->community = in.community;
    if (in.pagerank) {
      const auto* scores = &snap->pagerank().scores;
      x->pagerank_of = [snap, scores](const std::string& id) -> std::optional<double> {
        const auto i = snap->graph().index_of(id);
        if (i < 0 || static_cast<std::size_t>(i) >= scores->size()) return std::nullopt;
        return (*scores)[static_cast<std::size_t>(i)];
      };
    }
    if (in.community) {
      auto found = snap->louvain(0);
      if (!found) return std::move(found).err();
      auto c = std::make_shared<const analytics::communities>(std::move(*found));
      x->community_of = [snap, c](const std::string& id) -> std::optional<std::int64_t> {
        const auto i = snap->graph().index_of(id);
        if (i < 0 || static_cast<std::size_t>(i) >= c->community.size()) return std::nullopt;
        return c->community[static_cast<std::size_t>(i)];
      };
    }
    return std::shared_ptr<const vertex_extras>(std::move(x));
  };
}

void add_export_routes(router& r, export_service& exports) {
  r.add_route("GET", "/export", [&exports](const request& q) {
    const auto format = q.query_value("format");
    if (!format) throw api_error(errc::invalid_argument, "format is required: graphml, gexf, csv or json");
    const auto f = parse_export_format(*format, q.query_value("part").value_or(""));
    std::vector<std::string> include;
    auto [lo, hi] = q.query.equal_range("include");
    for (auto it = lo; it != hi; ++it)
      for (auto& n : split_commas(it->second)) include.push_back(n);
    const auto in = check_include(include);
    const slice s = parse_slice(q);
    response res;
    res.stream = unwrap(exports.stream(f, s, in));
    res.content_type = std::string(export_content_type(f));
    std::string name = "tlflow-export";
    if (auto part = export_part_name(f); !part.empty()) name += "-" + std::string(part);
    res.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"" + name + "." + std::string(export_extension(f)) + "\"");
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }, {false, access::read, true});

  r.add_route("POST", "/exports", [&exports](const request& q) {
    auto body = parse_object_body(q);
    request filters;
    std::string format, part;
    std::vector<std::string> include;
    for (auto& m : body.GetObject()) {
      const std::string key(m.name.GetString(), m.name.GetStringLength());
      if (key == "format" || key == "part") {
        if (!m.value.IsString()) throw api_error(errc::invalid_argument, key + " must be a string");
        (key == "format" ? format : part).assign(m.value.GetString(), m.value.GetStringLength());
      } else if (key == "include") {
        request inc;
        add_filter(inc, "include", m.value);
        for (auto& [k, v] : inc.query)
          for (auto& n : split_commas(v)) include.push_back(n);
      } else if (key == "kind" || key == "hashtag" || key == "since" || key == "until" ||
                 key == "min_weight" || key == "platform") {
        add_filter(filters, key.c_str(), m.value);
      } else {
        throw api_error(errc::invalid_argument,
                        "unknown field " + key +
                            " (format, part, include, kind, hashtag, since, until, min_weight, platform)");
      }
    }
    if (format.empty()) throw api_error(errc::invalid_argument, "format is required: graphml, gexf, csv or json");
    const auto f = parse_export_format(format, part);
    const auto in = check_include(include);
    const slice s = parse_slice(filters);
    auto job = unwrap(exports.start(f, s, in));
    auto res = json_response(202, job_json(job));
    res.headers.emplace_back("Location", "/exports/" + job.id);
    return res;
  }, {true, access::write, false});

  r.add_route("GET", "/exports/{id}", [&exports](const request& q) {
    return json_response(200, job_json(unwrap(exports.get(q.param("id")))));
  });

  r.add_route("GET", "/exports/{id}/file", [&exports](const request& q) {
    const auto& id = q.param("id");
    const auto path = unwrap(exports.file_path(id));
    const auto job = unwrap(exports.get(id));
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) throw api_error(errc::not_found, "the file of export job " + id + " is gone");
    response res;
    res.stream = std::make_shared<file_producer>(f);
    res.content_type = std::string(export_content_type(job.format));
    res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + job.file_name() + "\"");
    return res;
  }, {false, access::read, true});

  r.add_route("DELETE", "/exports/{id}", [&exports](const request& q) {
    auto removed = unwrap(exports.remove(q.param("id")));
    if (!removed) {
      response res;
      res.status = 204;
      return res;
    }
    return json_response(200, job_json(*removed));
  }, {true, access::write, false});
}

} // namespace tlflow::api
