#include "sources/http_client.hpp"

#include <mutex>

#include <curl/curl.h>

namespace tlflow {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct curl_headers {
  curl_slist* list = nullptr;
  ~curl_headers() { curl_slist_free_all(list); }
  void add(const std::string& h) { list = curl_slist_append(list, h.c_str()); }
};

struct stream_state {
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::function<void(long)>* on_status = nullptr;
  CURL* easy = nullptr;
  long status = 0;
  bool status_reported = false;
  bool aborted_by_callback = false;
  bool established = false;
  std::chrono::steady_clock::time_point first_byte;
  std::chrono::steady_clock::time_point last_byte;
  std::string error_body;
  std::string retry_after;
};

std::size_t on_stream_write(char* ptr, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<stream_state*>(user);
  std::size_t len = size * n;
  auto now = std::chrono::steady_clock::now();
  st->last_byte = now;
  if (!st->status_reported) {
    curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &st->status);
    st->status_reported = true;
    if (st->on_status && *st->on_status) (*st->on_status)(st->status);
  }
  if (st->status < 200 || st->status >= 300) {
    if (st->error_body.size() < 4096)
      st->error_body.append(ptr, std::min<std::size_t>(len, 4096 - st->error_body.size()));
    return len;
  }
  if (!st->established) {
    st->established = true;
    st->first_byte = now;
  }
  if (!(*st->on_data)(std::string_view(ptr, len))) {
    st->aborted_by_callback = true;
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

std::size_t on_header(char* ptr, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<stream_state*>(user);
  std::string_view h(ptr, size * n);
  st->last_byte = std::chrono::steady_clock::now();
  auto starts = [&](std::string_view name) {
    if (h.size() < name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(h[i])) != name[i]) return false;
    return true;
  };
  if (starts("retry-after:") || starts("x-rate-limit-reset:")) {
    auto v = h.substr(h.find(':') + 1);
    while (!v.empty() && (v.front() == ' ')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    st->retry_after.assign(v.data(), v.size());
  }
  return size * n;
}

std::size_t on_call_write(char* ptr, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() > (8u << 20)) return CURL_WRITEFUNC_ERROR;
  body->append(ptr, size * n);
  return size * n;
}

void common_options(CURL* easy, const http_request& req, curl_headers& headers) {
  curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); // gzip if the server offers it
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!req.user_agent.empty()) curl_easy_setopt(easy, CURLOPT_USERAGENT, req.user_agent.c_str());
  // CAINFO replaces the bundle file; the system directory (CAPATH) stays.
  if (!req.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, req.ca_file.c_str());
  for (const auto& h : req.headers) headers.add(h);
  if (req.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.list);
}

} // namespace

stream_result http_stream(const http_request& req, const stream_options& opts,
                          const std::atomic<bool>& stop,
                          const std::function<bool(std::string_view)>& on_data,
                          const std::function<void(long)>& on_status) {
  global_init();
  stream_result out;
  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  if (!easy || !multi) {
    if (easy) curl_easy_cleanup(easy);
    if (multi) curl_multi_cleanup(multi);
    out.what = stream_result::outcome::network_error;
    out.message = "curl initialisation failed";
    return out;
  }
  stream_state st;
  st.on_data = &on_data;
  st.on_status = &on_status;
  st.easy = easy;
  st.last_byte = std::chrono::steady_clock::now();
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_headers headers;
  common_options(easy, req, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_stream_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_multi_add_handle(multi, easy);

  bool stalled = false, stopped = false;
  CURLcode result = CURLE_OK;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    int queued = 0;
    bool done = false;
    while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
      if (m->msg == CURLMSG_DONE) {
        result = m->data.result;
        done = true;
      }
    }
    if (done || running == 0) break;
    if (stop.load(std::memory_order_relaxed)) {
      stopped = true;
      break;
    }
    if (std::chrono::steady_clock::now() - st.last_byte > opts.stall_timeout) {
      stalled = true;
      break;
    }
    curl_multi_poll(multi, nullptr, 0, 50, nullptr);
  }
  if (!st.status_reported) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &st.status);
  curl_multi_remove_handle(multi, easy);
  curl_easy_cleanup(easy);
  curl_multi_cleanup(multi);

  out.status = st.status;
  out.established = st.established;
  out.retry_after = st.retry_after;
  if (st.established) out.lived = std::chrono::steady_clock::now() - st.first_byte;
  if (stopped || st.aborted_by_callback) {
    out.what = stream_result::outcome::stopped;
  } else if (stalled) {
    out.what = stream_result::outcome::stalled;
    out.message = "no data for " + std::to_string(opts.stall_timeout.count()) + " ms";
  } else if (st.status != 0 && (st.status < 200 || st.status >= 300)) {
    out.what = stream_result::outcome::http_error;
    out.body = std::move(st.error_body);
    out.message = "HTTP " + std::to_string(st.status);
  } else if (st.status == 0) {
    out.what = stream_result::outcome::network_error;
    out.message = errbuf[0] ? errbuf : curl_easy_strerror(result);
  } else {
    out.what = stream_result::outcome::ended;
    out.message = result == CURLE_OK ? "server ended the stream"
                                     : std::string("stream dropped: ") +
                                           (errbuf[0] ? errbuf : curl_easy_strerror(result));
  }
  return out;
}

result<http_response> http_call(const http_request& req, std::chrono::milliseconds timeout) {
  global_init();
  CURL* easy = curl_easy_init();
  if (!easy) return error{errc::internal, "curl initialisation failed"};
  http_response resp;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_headers headers;
  common_options(easy, req, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_call_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  CURLcode rc = curl_easy_perform(easy);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_easy_cleanup(easy);
  if (rc != CURLE_OK)
    return error{errc::store_unavailable, errbuf[0] ? errbuf : curl_easy_strerror(rc)};
  return resp;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace tlflow
