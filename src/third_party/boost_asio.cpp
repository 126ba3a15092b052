// Boost.Asio's (and Beast's) compiled parts, once, for every part of tlflow
// that uses them (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are set on all of them by the
// tlflow_asio target). Compiled with the default warnings, as third-party
// code: with the library's implementation instantiated in our own files,
// GCC's middle-end -Wnull-dereference reported paths inside Asio's
// scheduler (scheduler.ipp) as ours, and no system-header rule hides those.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
