#include "support/tls_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace tlflow::test {

struct tls_proxy::tls {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  SSL_CTX* ctx = nullptr;
  ~tls() {
    SSL_CTX_free(ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

namespace {

void add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (!ext) throw std::runtime_error("tls_proxy: bad extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

int connect_upstream(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

} // namespace

tls_proxy::tls_proxy(std::uint16_t upstream_port) : upstream_(upstream_port), tls_(new tls) {
  tls_->key = EVP_EC_gen("P-256");
  tls_->cert = X509_new();
  X509* c = tls_->cert;
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), static_cast<long>(::getpid()) ^ std::rand());
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_set_pubkey(c, tls_->key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tlflow test localhost"), -1, -1, 0);
  X509_set_issuer_name(c, name);
  add_ext(c, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(c, NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_ext(c, NID_subject_alt_name, "DNS:localhost");
  if (!X509_sign(c, tls_->key, EVP_sha256())) throw std::runtime_error("tls_proxy: cannot sign");

  ca_file_ = ca_dir_.file("ca.pem");
  FILE* f = std::fopen(ca_file_.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("tls_proxy: cannot write " + ca_file_);
  PEM_write_X509(f, c);
  std::fclose(f);

  tls_->ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(tls_->ctx, c);
  SSL_CTX_use_PrivateKey(tls_->ctx, tls_->key);
  SSL_CTX_set_mode(tls_->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("tls_proxy: cannot listen");
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

tls_proxy::~tls_proxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::string tls_proxy::url(const std::string& scheme) const {
  return scheme + "://localhost:" + std::to_string(port_);
}

std::vector<std::string> tls_proxy::server_names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return names_;
}

void tls_proxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.emplace_back([this, fd] { relay(fd); });
  }
}

// One connection: handshake, then bytes both ways until either side ends.
void tls_proxy::relay(int cfd) {
  SSL* ssl = SSL_new(tls_->ctx);
  SSL_set_fd(ssl, cfd);
  set_nonblocking(cfd);
  int ufd = -1;
  auto done = [&] {
    SSL_free(ssl);
    ::close(cfd);
    if (ufd >= 0) ::close(ufd);
  };
  // Handshake (non-blocking, so that a stop or a silent client ends it).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    int r = SSL_accept(ssl);
    if (r == 1) break;
    int e = SSL_get_error(ssl, r);
    if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || stopping_ ||
        std::chrono::steady_clock::now() > deadline) {
      ++failed_;
      ERR_clear_error();
      return done();
    }
    pollfd p{cfd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, 50);
  }
  ++ok_;
  {
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::lock_guard<std::mutex> lock(mutex_);
    names_.push_back(sni ? sni : "");
  }
  ufd = connect_upstream(upstream_);
  if (ufd < 0) return done();
  set_nonblocking(ufd);

  std::string to_client, to_upstream;
  bool client_eof = false, upstream_eof = false;
  char buf[16384];
  while (!stopping_) {
    // client -> upstream
    for (;;) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        to_upstream.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      int e = SSL_get_error(ssl, n);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) client_eof = true;
      break;
    }
    // upstream -> client
    for (;;) {
      ssize_t n = ::recv(ufd, buf, sizeof buf, 0);
      if (n > 0) {
        to_client.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) upstream_eof = true;
      break;
    }
    while (!to_upstream.empty()) {
      ssize_t n = ::send(ufd, to_upstream.data(), to_upstream.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      to_upstream.erase(0, static_cast<std::size_t>(n));
    }
    while (!to_client.empty()) {
      int n = SSL_write(ssl, to_client.data(), static_cast<int>(to_client.size()));
      if (n <= 0) break;
      to_client.erase(0, static_cast<std::size_t>(n));
    }
    if (upstream_eof && to_client.empty()) {
      SSL_shutdown(ssl);  // close_notify: the server ended the response
      break;
    }
    if (client_eof) break;
    pollfd p[2] = {{cfd, static_cast<short>(POLLIN | (to_client.empty() ? 0 : POLLOUT)), 0},
                   {ufd, static_cast<short>(POLLIN | (to_upstream.empty() ? 0 : POLLOUT)), 0}};
    ::poll(p, 2, 50);
  }
  ERR_clear_error();
  done();
}

} // namespace tlflow::test
