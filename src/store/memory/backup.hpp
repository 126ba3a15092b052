// The backup container of a durable MemoryStore (docs/memory-store.md,
// "Backups"): the snapshot file and the sealed log segments, each a part
// with its own CRC-32, then an end part that counts them, so that a flipped
// byte, a missing part or a cut-off tail is refused before anything is
// written.
//
//   container = "TLFBKUP1" part* end
//   part      = u8 type | u16 name length | name | u64 size | size bytes | u32 crc
//               type 1: snapshot.bin, type 2: wal-<first seq, 20 digits>.log
//   end       = u8 255 | u16 0 | u64 16 | u64 parts before it | u64 last seq | u32 crc
//   crc       = CRC-32 of the part from its type byte to its last data byte
//
// Integers are little endian, as everywhere in the store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/memory/memory_store.hpp"

namespace tlflow::mem {

constexpr char backup_magic[8] = {'T', 'L', 'F', 'B', 'K', 'U', 'P', '1'};
constexpr std::uint8_t backup_part_snapshot = 1;
constexpr std::uint8_t backup_part_segment = 2;
constexpr std::uint8_t backup_part_end = 255;

// A file the backup will carry, already open: it stays readable after a
// snapshot renames over it or deletes it.
struct backup_file {
  std::uint8_t type = backup_part_segment;
  std::string name;  // file name inside the data directory
  int fd = -1;       // owned by the stream from then on
  std::uint64_t size = 0;
};

// The container over `files` (each read from offset 0 to its size), ending
// with the end part naming `last_seq`. Takes ownership of the descriptors.
std::unique_ptr<backup_stream> make_backup_stream(std::vector<backup_file> files,
                                                  std::uint64_t last_seq);

// Checks the container `file` whole and, with `target_dir` non-empty, writes
// its files into that (existing, empty) directory, each fsynced, then the
// directory. invalid_argument naming the offset and the part when the file
// is damaged or truncated; io_error when reading or writing fails.
result<restore_report> unpack_backup(const std::string& file, const std::string& target_dir);

} // namespace tlflow::mem
