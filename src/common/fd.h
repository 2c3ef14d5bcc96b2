// An owned file descriptor, closed when it goes out of scope. Not thread-safe (one owner).
#pragma once

#include <unistd.h>

namespace spirecvm {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Gives up ownership: the caller closes it.
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

}  // namespace spirecvm
