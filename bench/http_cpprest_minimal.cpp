// http_cpprest_minimal — cpprestsdk's http_listener with nothing of tlflow:
// every request gets the same small JSON body. Beside the Beast reference
// and tlflow in bench/http_bench.sh it separates what the listener itself
// costs from what tlflow's routing, metrics and JSON add.
//
//   http_cpprest_minimal PORT [THREADS=2]
#undef BOOST_ASIO_NO_DEPRECATED  // pplx/threadpool.h names io_service

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <pthread.h>

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: http_cpprest_minimal PORT [THREADS]\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  crossplat::threadpool::initialize_with_threads(static_cast<size_t>(threads));
  web::http::experimental::listener::http_listener listener(
      web::uri("http://127.0.0.1:" + std::string(argv[1])));
  listener.support([](web::http::http_request req) {
    web::http::http_response res(web::http::status_codes::OK);
    res.set_body(std::string(R"({"count":123456})"), "application/json; charset=utf-8");
    req.reply(res);
  });
  listener.open().wait();
  int sig = 0;
  sigwait(&stop, &sig);
  listener.close().wait();
  return 0;
}
