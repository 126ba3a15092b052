'use strict';
// X API v2 filtered-stream lines, made up on the spot, for tlflow's
// `--source file:-`: the browser test and bench/web_bench.js write them to
// tlflow's stdin, so the graph grows while the page watches, as it would
// from a live stream. Accounts are `twitter:<base + i>`; every post carries
// one of the given hashtags, so the slices by hashtag are not empty.

class x_feed {
  // `base`: first numeric user id; `tags`: hashtags (without '#') to cycle through.
  constructor({ base = 3000000000, tags = ['rust'], start = Date.UTC(2026, 0, 5, 9) } = {}) {
    this.base = base;
    this.tags = tags;
    this.seq = 0;
    this.clock = start;
  }

  user(i) {
    const id = String(this.base + i);
    const u = { id, username: `acct_${i}`, name: `Account ${i}` };
    if (i % 3 !== 0) u.location = ['Lisbon', 'Quito', 'Osaka', 'Nairobi'][i % 4];
    return u;
  }

  // One post by account `from`: a mention of `to` (kind "mention"), or a
  // reply to a post of `to` (kind "reply"). Every call is a new post id, so
  // the same pair again adds one to the edge's weight.
  post(from, to, { kind = 'mention', tag } = {}) {
    this.seq += 1;
    this.clock += 1000;
    const hashtag = tag || this.tags[this.seq % this.tags.length];
    const id = String(1900000000000000000n + BigInt(this.seq) * 4096n + BigInt(this.base % 4096));
    const author = this.user(from);
    const target = this.user(to);
    const created = new Date(this.clock).toISOString();
    const data = {
      id, author_id: author.id, conversation_id: id, created_at: created,
      edit_history_tweet_ids: [id], lang: 'en',
    };
    const includes = { users: [author, target] };
    let text;
    if (kind === 'reply') {
      const parent = String(BigInt(id) - 1n);
      text = `@${target.username} agreed #${hashtag}`;
      data.conversation_id = parent;
      data.in_reply_to_user_id = target.id;
      data.referenced_tweets = [{ type: 'replied_to', id: parent }];
      includes.tweets = [{ id: parent, author_id: target.id, text: `thread #${hashtag}`,
                           created_at: created, edit_history_tweet_ids: [parent] }];
    } else if (kind === 'mention') {
      text = `talking with @${target.username} about #${hashtag}`;
    } else {
      throw new Error(`x_feed: unsupported kind ${kind}`);
    }
    data.text = text;
    const at = text.indexOf('@');
    const hash = text.indexOf('#');
    data.entities = {
      mentions: [{ start: at, end: at + 1 + target.username.length, username: target.username, id: target.id }],
      hashtags: [{ start: hash, end: hash + 1 + hashtag.length, tag: hashtag }],
    };
    return JSON.stringify({ data, includes, matching_rules: [{ id: '1', tag: `tlflow:${hashtag}` }] }) + '\n';
  }

  id(i) { return `twitter:${this.base + i}`; }
}

module.exports = { x_feed };
