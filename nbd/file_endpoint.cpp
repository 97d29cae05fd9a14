// The local endpoint: a regular file or a block device, read and written synchronously.
// Requests complete before the submitting call returns; the copier does not need to know.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "config/defaults.hpp"
#include "nbd/endpoint.hpp"

namespace mk::nbd {

namespace {

class file_endpoint final : public endpoint {
 public:
  file_endpoint(std::string name, int fd, std::uint64_t size, bool block_device)
      : name_(std::move(name)), fd_(fd), size_(size), block_device_(block_device) {}

  ~file_endpoint() override { close(0); }

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return size_; }
  unsigned connections() const override { return 1; }
  std::uint64_t max_request() const override { return 0; }
  // Regular files tell holes with SEEK_HOLE; a block device says nothing of its contents.
  bool can_extents() const override { return !block_device_; }
  bool can_zero() const override { return true; }

  result<std::vector<extent>> extents(std::uint64_t offset, std::uint64_t length) override {
    std::uint64_t end = std::min(size_, offset + length);
    if (block_device_) return std::vector<extent>{{offset, end - offset, false}};
    auto off = static_cast<off_t>(offset);
    off_t data = lseek(fd_, off, SEEK_DATA);
    if (data == -1 && errno != ENXIO)
      return fail(errc::io, name_,
                  "SEEK_DATA at offset " + std::to_string(offset) + ": " + errno_text(errno));
    if (data == -1 || static_cast<std::uint64_t>(data) >= end)  // a hole to the end
      return std::vector<extent>{{offset, end - offset, true}};
    if (data > off)
      return std::vector<extent>{{offset, static_cast<std::uint64_t>(data) - offset, true}};
    off_t hole = lseek(fd_, off, SEEK_HOLE);
    if (hole == -1)
      return fail(errc::io, name_,
                  "SEEK_HOLE at offset " + std::to_string(offset) + ": " + errno_text(errno));
    auto data_end = std::min(end, static_cast<std::uint64_t>(hole));
    return std::vector<extent>{{offset, data_end - offset, false}};
  }

  result<> read(unsigned, void* buf, std::uint64_t length, std::uint64_t offset,
                io_ref* ref) override {
    auto* p = static_cast<char*>(buf);
    return complete(ref, all_of(length, [&](std::uint64_t done) {
                      return pread(fd_, p + done, length - done, static_cast<off_t>(offset + done));
                    }));
  }

  result<> write(unsigned, const void* buf, std::uint64_t length, std::uint64_t offset,
                 io_ref* ref) override {
    return complete(ref, write_all(buf, length, offset));
  }

  result<> zero(unsigned, std::uint64_t length, std::uint64_t offset, io_ref* ref) override {
    return complete(ref, zero_range(length, offset));
  }

  result<> flush(unsigned, io_ref* ref) override {
    return complete(ref, fdatasync(fd_) == 0 ? 0 : errno);
  }

  pollfd poll_for(unsigned) override { return pollfd{-1, 0, 0}; }
  result<> handle_events(unsigned, short) override { return {}; }

  void close(int) override {
    if (fd_ != -1) ::close(fd_);
    fd_ = -1;
  }

 private:
  result<> complete(io_ref* ref, int err) {
    ref->sink->on_complete(ref->tag, err);
    return {};
  }

  /// Repeats a partial transfer until `length` bytes moved; an errno value, or 0. Reaching the
  /// end of the file early is EIO: the size was fixed when the copy began.
  template <class Transfer>
  static int all_of(std::uint64_t length, Transfer transfer) {
    std::uint64_t done = 0;
    while (done < length) {
      ssize_t n = transfer(done);
      if (n == -1 && errno == EINTR) continue;
      if (n <= 0) return n == 0 ? EIO : errno;
      done += static_cast<std::uint64_t>(n);
    }
    return 0;
  }

  int write_all(const void* buf, std::uint64_t length, std::uint64_t offset) {
    auto* p = static_cast<const char*>(buf);
    return all_of(length, [&](std::uint64_t done) {
      return pwrite(fd_, p + done, length - done, static_cast<off_t>(offset + done));
    });
  }

  int zero_range(std::uint64_t length, std::uint64_t offset) {
    if (block_device_) {
      std::uint64_t range[2] = {offset, length};
      if (ioctl(fd_, BLKZEROOUT, range) == 0) return 0;
    } else if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         static_cast<off_t>(offset), static_cast<off_t>(length)) == 0) {
      return 0;
    }
    // The file system or device cannot zero cheaply: write zeroes.
    if (zeroes_.empty()) zeroes_.resize(defaults::copy::request_size);
    for (std::uint64_t done = 0; done < length;) {
      auto n = std::min<std::uint64_t>(zeroes_.size(), length - done);
      if (int err = write_all(zeroes_.data(), n, offset + done)) return err;
      done += n;
    }
    return 0;
  }

  std::string name_;
  int fd_;
  std::uint64_t size_;
  bool block_device_;
  std::vector<char> zeroes_;
};

}  // namespace

result<std::unique_ptr<endpoint>> open_file(const endpoint_spec& spec, role r,
                                            const open_options& opts) {
  std::string name = std::string(to_string(r)) + " " + spec.text;
  int flags = O_CLOEXEC | (r == role::source ? O_RDONLY : O_RDWR | O_CREAT);
  int fd = ::open(spec.text.c_str(), flags, 0644);
  if (fd == -1) return fail(errc::io, name, "cannot open: " + errno_text(errno));
  auto close_on_error = [fd](auto err) {
    ::close(fd);
    return err;
  };
  struct stat st {};
  if (fstat(fd, &st) == -1)
    return close_on_error(fail(errc::io, name, "cannot stat: " + errno_text(errno)));
  bool block = S_ISBLK(st.st_mode);
  if (!block && !S_ISREG(st.st_mode))
    return close_on_error(fail(errc::usage, name, "not a regular file or block device"));
  std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (block && ioctl(fd, BLKGETSIZE64, &size) == -1)
    return close_on_error(
        fail(errc::io, name, "cannot read the device size: " + errno_text(errno)));
  // A new or empty target file becomes a sparse file the size of the source.
  if (r == role::target && !block && size == 0 && opts.source_size > 0) {
    if (ftruncate(fd, static_cast<off_t>(opts.source_size)) == -1)
      return close_on_error(fail(errc::io, name, "cannot size the file: " + errno_text(errno)));
    size = opts.source_size;
  }
  return std::make_unique<file_endpoint>(std::move(name), fd, size, block);
}

}  // namespace mk::nbd
