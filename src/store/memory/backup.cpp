#include "store/memory/backup.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "store/memory/codec.hpp"
#include "store/memory/wal.hpp"

namespace tlflow::mem {
namespace {

constexpr std::size_t piece_bytes = 1u << 20;

std::string part_header(std::uint8_t type, const std::string& name, std::uint64_t size) {
  bin_writer w;
  w.u8(type);
  w.u8(static_cast<std::uint8_t>(name.size() & 0xFF));
  w.u8(static_cast<std::uint8_t>(name.size() >> 8));
  w.buffer() += name;
  w.u64(size);
  return std::move(w.buffer());
}

class file_backup_stream final : public backup_stream {
public:
  file_backup_stream(std::vector<backup_file> files, std::uint64_t last_seq)
      : files_(std::move(files)), last_seq_(last_seq) {
    total_ = 8;
    for (const auto& f : files_) total_ += 3 + f.name.size() + 8 + f.size + 4;
    total_ += 3 + 8 + 16 + 4;
  }
  ~file_backup_stream() override {
    for (auto& f : files_)
      if (f.fd >= 0) ::close(f.fd);
  }

  result<std::optional<std::string>> next() override {
    if (done_) return std::optional<std::string>{};
    std::string out;
    if (!started_) {
      started_ = true;
      out.append(backup_magic, 8);
    }
    while (out.size() < piece_bytes) {
      if (index_ == files_.size()) {
        // The end part: how many parts came before it and the frozen position.
        bin_writer body;
        body.u64(files_.size());
        body.u64(last_seq_);
        std::string part = part_header(backup_part_end, "", body.buffer().size()) + body.buffer();
        bin_writer crc;
        crc.u32(crc32_of(part));
        out += part + crc.buffer();
        done_ = true;
        break;
      }
      backup_file& f = files_[index_];
      if (!in_part_) {
        const std::string head = part_header(f.type, f.name, f.size);
        crc_ = crc32_of(head);
        out += head;
        in_part_ = true;
        offset_ = 0;
      }
      const std::uint64_t want = std::min<std::uint64_t>(f.size - offset_, piece_bytes - out.size());
      if (want > 0) {
        const std::size_t at = out.size();
        out.resize(at + want);
        std::uint64_t got = 0;
        while (got < want) {
          const ssize_t n = ::pread(f.fd, out.data() + at + got, want - got,
                                    static_cast<off_t>(offset_ + got));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0)
            return error{errc::io_error, "backup: cannot read " + f.name + " at offset " +
                                             std::to_string(offset_ + got) + ": " +
                                             (n == 0 ? std::string("file shorter than when the backup began")
                                                     : std::string(std::strerror(errno)))};
          got += static_cast<std::uint64_t>(n);
        }
        crc_ = crc32_of(std::string_view(out).substr(at), crc_);
        offset_ += want;
      }
      if (offset_ == f.size) {
        bin_writer crc;
        crc.u32(crc_);
        out += crc.buffer();
        ::close(f.fd);
        f.fd = -1;
        in_part_ = false;
        ++index_;
      }
    }
    return std::optional<std::string>(std::move(out));
  }
  std::uint64_t last_seq() const noexcept override { return last_seq_; }
  std::uint64_t total_bytes() const noexcept override { return total_; }

private:
  std::vector<backup_file> files_;
  std::uint64_t last_seq_;
  std::uint64_t total_ = 0;
  std::size_t index_ = 0;
  bool started_ = false;
  bool in_part_ = false;
  bool done_ = false;
  std::uint64_t offset_ = 0;
  std::uint32_t crc_ = 0;
};

// Sequential reader over the container that knows where it is (for the
// messages) and tells a short file from a read error.
class reader {
public:
  explicit reader(int fd) : fd_(fd) {}
  // Exactly n bytes into out (appended), or false at the end of the file.
  result<bool> take(std::size_t n, std::string& out) {
    const std::size_t start = out.size();
    out.resize(start + n);
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::read(fd_, out.data() + start + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return error{errc::io_error, std::string("cannot read the backup: ") + std::strerror(errno)};
      if (r == 0) {
        out.resize(start + got);
        offset_ += got;
        return false;
      }
      got += static_cast<std::size_t>(r);
    }
    offset_ += n;
    return true;
  }
  std::uint64_t offset() const noexcept { return offset_; }

private:
  int fd_;
  std::uint64_t offset_ = 0;
};

bool valid_segment_name(const std::string& name, std::uint64_t& first_seq) {
  // wal-<20 digits>.log, exactly what segment_name() writes.
  if (name.size() != 4 + 20 + 4 || name.compare(0, 4, "wal-") != 0 ||
      name.compare(24, 4, ".log") != 0)
    return false;
  first_seq = 0;
  for (std::size_t i = 4; i < 24; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    first_seq = first_seq * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return segment_name(first_seq) == name;
}

struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

} // namespace

std::unique_ptr<backup_stream> make_backup_stream(std::vector<backup_file> files,
                                                  std::uint64_t last_seq) {
  return std::make_unique<file_backup_stream>(std::move(files), last_seq);
}

result<restore_report> unpack_backup(const std::string& file, const std::string& target_dir) {
  fd_closer in{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0)
    return error{errc::invalid_argument, "cannot open " + file + ": " + std::strerror(errno)};
  reader rd(in.fd);
  const auto damaged = [&](const std::string& what) {
    return error{errc::invalid_argument, "backup " + file + " is damaged: " + what};
  };
  const auto truncated = [&](const std::string& what) {
    return error{errc::invalid_argument, "backup " + file + " is truncated: it ends at byte " +
                                             std::to_string(rd.offset()) + " " + what};
  };
  std::string magic;
  auto got = rd.take(8, magic);
  if (!got) return std::move(got).err();
  if (!*got || magic.compare(0, 8, std::string_view(backup_magic, 8)) != 0)
    return error{errc::invalid_argument, file + " is not a tlflow backup (no TLFBKUP1 header)"};

  restore_report report;
  std::uint64_t parts = 0;
  std::uint64_t last_first_seq = 0;
  bool saw_segment = false;
  bool saw_snapshot = false;
  for (;;) {
    const std::uint64_t part_at = rd.offset();
    const std::string where = "part " + std::to_string(parts + 1) + " at byte " + std::to_string(part_at);
    std::string head;
    got = rd.take(3, head);
    if (!got) return std::move(got).err();
    if (!*got) return truncated("before its end part (after " + std::to_string(parts) + " part(s))");
    const auto type = static_cast<std::uint8_t>(head[0]);
    const std::size_t name_len = static_cast<std::uint8_t>(head[1]) |
                                 (static_cast<std::size_t>(static_cast<std::uint8_t>(head[2])) << 8);
    got = rd.take(name_len + 8, head);
    if (!got) return std::move(got).err();
    if (!*got) return truncated("inside the header of " + where);
    const std::string name = head.substr(3, name_len);
    bin_reader size_reader(std::string_view(head).substr(3 + name_len));
    const std::uint64_t size = size_reader.u64();
    std::uint32_t crc = crc32_of(head);

    std::uint64_t first_seq = 0;
    if (type == backup_part_end) {
      if (size != 16 || !name.empty()) return damaged(where + ": a malformed end part");
    } else if (type == backup_part_snapshot) {
      if (name != "snapshot.bin" || saw_snapshot || saw_segment)
        return damaged(where + ": a snapshot part named '" + name + "' out of place");
      saw_snapshot = true;
    } else if (type == backup_part_segment) {
      if (!valid_segment_name(name, first_seq) || (saw_segment && first_seq <= last_first_seq))
        return damaged(where + ": a log segment part named '" + name + "' out of place");
      saw_segment = true;
      last_first_seq = first_seq;
    } else {
      return damaged(where + ": unknown part type " + std::to_string(type));
    }

    // The data, in pieces; written only on the second pass (target_dir set),
    // after the first one checked everything.
    file_sink out;
    if (!target_dir.empty() && type != backup_part_end)
      if (auto s = out.open(target_dir + "/" + name, false); !s) return s.err();
    std::string data;
    std::string first_bytes; // the end part's body, the snapshot's header
    std::uint64_t left = size;
    while (left > 0) {
      data.clear();
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, piece_bytes));
      got = rd.take(n, data);
      if (!got) return std::move(got).err();
      if (!*got)
        return truncated("inside " + where + " (" + name + "), " + std::to_string(left - data.size()) +
                         " byte(s) short");
      crc = crc32_of(data, crc);
      if (first_bytes.size() < 16) first_bytes += data.substr(0, 16 - first_bytes.size());
      if (!target_dir.empty() && type != backup_part_end)
        if (auto s = out.write(data); !s) return s.err();
      left -= n;
    }
    std::string trailer;
    got = rd.take(4, trailer);
    if (!got) return std::move(got).err();
    if (!*got) return truncated("inside the checksum of " + where);
    if (bin_reader(trailer).u32() != crc)
      return damaged(where + (name.empty() ? std::string(" (end part)") : " (" + name + ")") +
                     ": checksum mismatch");
    if (type == backup_part_end) {
      bin_reader body(first_bytes);
      const std::uint64_t count = body.u64();
      report.last_seq = body.u64();
      if (count != parts)
        return damaged("the end part counts " + std::to_string(count) + " part(s), the file has " +
                       std::to_string(parts));
      std::string extra;
      got = rd.take(1, extra);
      if (!got) return std::move(got).err();
      if (*got) return damaged("bytes follow the end part at byte " + std::to_string(rd.offset() - 1));
      break;
    }
    if (!target_dir.empty())
      if (auto s = out.finish(); !s) return s.err();
    if (type == backup_part_snapshot && first_bytes.size() >= 16)
      report.snapshot_seq = bin_reader(std::string_view(first_bytes).substr(8)).u64();
    if (type == backup_part_segment) ++report.segments;
    report.bytes += size;
    ++parts;
  }
  if (report.snapshot_seq > report.last_seq)
    return damaged("its snapshot holds sequence number " + std::to_string(report.snapshot_seq) +
                   ", past the backup's end at " + std::to_string(report.last_seq));
  if (!target_dir.empty())
    if (auto s = fsync_dir(target_dir); !s) return s.err();
  return report;
}

} // namespace tlflow::mem
