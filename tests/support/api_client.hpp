// support/api_client.hpp — helpers for the REST integration tests: one
// shared service per test binary run, JSON parsing of replies.
#pragma once

#include <chrono>
#include <string>

#include <rapidjson/document.h>

#include "support/service_process.hpp"

namespace tlflow::test {

// Parses a reply body as JSON (a null document if it does not parse).
rapidjson::Document json_of(const http_reply& r);

// The `error.code` of an error reply, or "" if the body is not one.
std::string error_code(const http_reply& r);

// True when `r` is exactly the error object: {"error":{"code","message"}}.
bool is_error_object(const http_reply& r);

// Checks (doctest CHECKs) that `r` is the error object with this status and code.
void expect_error(const http_reply& r, int status, const std::string& code);

// A string member, or "" if absent.
std::string str(const rapidjson::Value& v, const char* member);

// Polls GET /exports/{id} every 50 ms until the job is neither `queued` nor
// `running` (REQUIREs a 200 each time; FAILs after `limit`): the job then.
rapidjson::Document wait_for_export(const service_process& s, const std::string& id,
                                    std::chrono::seconds limit = std::chrono::seconds(60));

} // namespace tlflow::test
