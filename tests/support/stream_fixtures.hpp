// Messages in the platforms' documented wire formats for the source and
// pipeline tests, and the interactions the real extractors read from them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlflow/model.hpp"
#include "tlflow/source.hpp"

namespace tlflow::test {

// X v2 filtered-stream line: post `id` by user `author` mentioning users
// `mentioned` (numbers -> ids 1000000000000000000+n, usernames "user<n>"),
// carrying `tags`.
std::string x_v2_line(const std::string& id, int author, const std::vector<int>& mentioned,
                      const std::vector<std::string>& tags);
// Twitter v1.1 status, same conventions.
std::string twitter_v1_line(const std::string& id, int author, const std::vector<int>& mentioned,
                            const std::vector<std::string>& tags);
// Mastodon Status JSON by `user`@`host` mentioning local users.
std::string mastodon_status(const std::string& id, const std::string& host, const std::string& user,
                            const std::vector<std::string>& mentioned,
                            const std::vector<std::string>& tags);
// Jetstream commit event creating a post by did:plc:<author> with mention
// facets for did:plc:<m> and tag facets.
std::string jetstream_post(std::int64_t time_us, const std::string& author, const std::string& rkey,
                           const std::vector<std::string>& mentioned,
                           const std::vector<std::string>& tags);

// Interactions the extractors read from each message, in order.
std::vector<interaction> extract_all(wire_format f, const std::vector<std::string>& messages);

} // namespace tlflow::test
